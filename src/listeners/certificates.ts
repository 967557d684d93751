/**
 * The certificate, key and CA of a tls / wss listener, reloadable while it runs: Kubernetes and
 * cert-manager rotate the files in place. A reload builds a new secure context for new connections;
 * open connections keep the one they were made with.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { createSecureContext, type SecureContextOptions } from 'node:tls';
import type { Logger } from 'pino';
import type { ListenerTlsConfig } from '../config/types.js';
import type { CertificateReloadResult } from './types.js';

/** Rotations write the cert and the key one after the other: wait for both before loading. */
const SETTLE_MS = 300;

interface Material {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca: Buffer | undefined;
  readonly serialNumber: string;
}

export class CertificateStore {
  private material: Material;
  private settleTimer: NodeJS.Timeout | undefined;
  private watching = false;
  private readonly onFileChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => this.reload(), SETTLE_MS);
    this.settleTimer.unref();
  };

  /** Throws when the files cannot be used (the config loader has checked them already). */
  constructor(
    private readonly config: ListenerTlsConfig,
    private readonly logger: Logger,
    /** Installs new options on the server, for connections accepted from now on. */
    private readonly apply: (options: SecureContextOptions) => void,
  ) {
    this.material = this.read();
    createSecureContext(this.options(this.material));
  }

  get serialNumber(): string {
    return this.material.serialNumber;
  }

  /** Options for tls.createServer / setSecureContext. */
  secureContextOptions(): SecureContextOptions {
    return this.options(this.material);
  }

  reload(): CertificateReloadResult {
    let next: Material;
    try {
      next = this.read();
      if (next.cert.equals(this.material.cert) && next.key.equals(this.material.key) && sameBuffer(next.ca, this.material.ca)) {
        return { outcome: 'unchanged', serialNumber: this.material.serialNumber };
      }
      const options = this.options(next);
      // Fails on a broken PEM or a key that does not belong to the certificate.
      createSecureContext(options);
      this.apply(options);
    } catch (error) {
      const problem = error instanceof Error ? error.message : String(error);
      this.logger.error(
        { cert: this.config.cert, key: this.config.key, ca: this.config.ca, err: problem, serialNumber: this.material.serialNumber },
        'new certificate files are unusable; the current certificate stays in use',
      );
      return { outcome: 'failed', problem, serialNumber: this.material.serialNumber };
    }
    const previous = this.material.serialNumber;
    this.material = next;
    this.logger.info({ cert: this.config.cert, serialNumber: next.serialNumber, previousSerialNumber: previous }, 'certificates reloaded');
    return { outcome: 'reloaded', serialNumber: next.serialNumber };
  }

  /** Polls the files (stat, following symlinks, so swapped Kubernetes secret mounts are seen). */
  watch(): void {
    if (this.watching || this.config.watchIntervalMs === 0) return;
    this.watching = true;
    for (const file of this.files()) watchFile(file, { interval: this.config.watchIntervalMs, persistent: false }, this.onFileChange);
  }

  close(): void {
    clearTimeout(this.settleTimer);
    if (!this.watching) return;
    this.watching = false;
    for (const file of this.files()) unwatchFile(file, this.onFileChange);
  }

  private files(): string[] {
    return [this.config.cert, this.config.key, ...(this.config.ca === undefined ? [] : [this.config.ca])];
  }

  private read(): Material {
    const cert = readFileSync(this.config.cert);
    const key = readFileSync(this.config.key);
    const ca = this.config.ca === undefined ? undefined : readFileSync(this.config.ca);
    return { cert, key, ca, serialNumber: new X509Certificate(cert).serialNumber };
  }

  private options(material: Material): SecureContextOptions {
    return {
      cert: material.cert,
      key: material.key,
      ...(material.ca === undefined ? {} : { ca: material.ca }),
      minVersion: this.config.minVersion,
      ciphers: this.config.ciphers,
    };
  }
}

function sameBuffer(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === undefined || b === undefined ? a === b : a.equals(b);
}
