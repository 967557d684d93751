/** Requests served at once on one listener, in total and per client address. */
export type Admission = 'admitted' | 'listener-full' | 'address-full';

export class RequestLimits {
  private total = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerAddress: number,
  ) {}

  get inFlight(): number {
    return this.total;
  }

  /** Counts the request when it is admitted; each admitted one is released exactly once. */
  admit(address: string): Admission {
    if (this.total >= this.maxTotal) return 'listener-full';
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (fromAddress >= this.maxPerAddress) return 'address-full';
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    return 'admitted';
  }

  release(address: string): void {
    this.total--;
    const left = (this.perAddress.get(address) ?? 1) - 1;
    if (left > 0) this.perAddress.set(address, left);
    else this.perAddress.delete(address);
  }
}
