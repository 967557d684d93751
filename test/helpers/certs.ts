/**
 * Test certificates made with openssl in a temporary directory: a CA, server certificates for
 * 127.0.0.1 / localhost, client certificates. Nothing here is ever committed.
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** Hex, as Node's getPeerCertificate().serialNumber prints it (upper case). */
  readonly serialNumber: string;
}

export interface CertificateAuthority extends CertificateFiles {
  readonly name: string;
}

function openssl(args: readonly string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

function filesOf(certFile: string, keyFile: string): CertificateFiles {
  const cert = readFileSync(certFile);
  return { certFile, keyFile, cert, key: readFileSync(keyFile), serialNumber: new X509Certificate(cert).serialNumber };
}

const EC_KEY = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

export class TestCertificates {
  readonly dir = mkdtempSync(join(tmpdir(), 'mkp-certs-'));
  private serial = 0x1000;

  createCa(name: string): CertificateAuthority {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    openssl(
      [
        'req', '-x509', ...EC_KEY, '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`,
        '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
      ],
      this.dir,
    );
    return { name, ...filesOf(certFile, keyFile) };
  }

  /** A server certificate for 127.0.0.1 and localhost (and any `extraSans`). */
  issueServer(ca: CertificateAuthority, name: string, { commonName = 'localhost', extraSans = [] as string[] } = {}): CertificateFiles {
    return this.issue(ca, name, `/CN=${commonName}`, ['IP:127.0.0.1', 'DNS:localhost', ...extraSans], 'serverAuth');
  }

  /** A client certificate; `commonName: null` makes one with no CN (its identity is then the first SAN). */
  issueClient(ca: CertificateAuthority, name: string, { commonName = name as string | null, sans = [] as string[] } = {}): CertificateFiles {
    return this.issue(ca, name, commonName === null ? '/O=mkp-test' : `/CN=${commonName}`, sans, 'clientAuth');
  }

  /** Writes a certificate and key over `target`'s files (a rotation in place). */
  replace(target: CertificateFiles, source: CertificateFiles): void {
    writeFileSync(target.certFile, source.cert);
    writeFileSync(target.keyFile, source.key);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }

  private issue(ca: CertificateAuthority, name: string, subject: string, sans: readonly string[], usage: string): CertificateFiles {
    const certFile = join(this.dir, `${name}.crt`);
    const keyFile = join(this.dir, `${name}.key`);
    const csrFile = join(this.dir, `${name}.csr`);
    const extFile = join(this.dir, `${name}.ext`);
    const extensions = ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature,keyEncipherment', `extendedKeyUsage=${usage}`];
    if (sans.length > 0) extensions.push(`subjectAltName=${sans.join(',')}`);
    writeFileSync(extFile, `${extensions.join('\n')}\n`);
    openssl(['req', '-new', ...EC_KEY, '-keyout', keyFile, '-out', csrFile, '-subj', subject], this.dir);
    this.serial += 1;
    openssl(
      ['x509', '-req', '-in', csrFile, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${this.serial.toString(16)}`, '-days', '2', '-extfile', extFile, '-out', certFile],
      this.dir,
    );
    return filesOf(certFile, keyFile);
  }
}

/** base64(sha256(SubjectPublicKeyInfo)): what Chromium's --ignore-certificate-errors-spki-list takes. */
export function spkiSha256(cert: Buffer): string {
  const spki = new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/** The first bytes a TLS client sends (its ClientHello), captured from a real tls.connect. */
export async function captureClientHello(ca?: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    const capture = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        resolve(chunk);
        done();
        setImmediate(() => secure.destroy());
      },
    });
    const secure = tls.connect({ socket: capture, servername: 'localhost', ...(ca !== undefined && { ca }) });
    secure.on('error', () => undefined);
  });
}

/**
 * OpenSSL 3.x as bundled with Node 24 names the handshake-failure alert `SSL/TLS` where earlier
 * builds said `SSLV3`; both are the same alert (40), so tests compare the older name.
 */
export function handshakeAlertCode(code: string | undefined): string | undefined {
  return code === 'ERR_SSL_SSL/TLS_ALERT_HANDSHAKE_FAILURE' ? 'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE' : code;
}
