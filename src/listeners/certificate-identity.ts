/**
 * The identity a verified client certificate gives a connection: the subject's common name, or
 * when it has none the first subject alternative name. Pure: it reads the object Node's
 * `getPeerCertificate()` returns.
 */

export interface PeerCertificateFields {
  /** Node gives a string, or an array when the subject has several CNs. */
  readonly subject?: { readonly CN?: string | readonly string[] } | null;
  /** e.g. `DNS:device-1.example, IP Address:10.0.0.1, URI:spiffe://x/y, email:a@b` */
  readonly subjectaltname?: string;
}

export function certificateIdentity(certificate: PeerCertificateFields | null | undefined): string | undefined {
  if (certificate === null || certificate === undefined) return undefined;
  const cn = certificate.subject?.CN;
  const first = typeof cn === 'string' ? cn : Array.isArray(cn) ? (cn as readonly string[])[0] : undefined;
  if (first !== undefined && first !== '') return first;
  return firstSubjectAltName(certificate.subjectaltname);
}

/** The value of the first SAN entry (`DNS:a, IP Address:b` gives `a`), quotes removed. */
export function firstSubjectAltName(subjectaltname: string | undefined): string | undefined {
  if (subjectaltname === undefined || subjectaltname.trim() === '') return undefined;
  const first = splitSubjectAltNames(subjectaltname)[0];
  if (first === undefined) return undefined;
  const colon = first.indexOf(':');
  if (colon === -1) return undefined;
  let value = first.slice(colon + 1).trim();
  // Node quotes values containing commas or other special characters as JSON strings.
  if (value.startsWith('"')) {
    try {
      value = JSON.parse(value) as string;
    } catch {
      return undefined;
    }
  }
  return value === '' ? undefined : value;
}

/** Splits on `, ` outside JSON-quoted values. */
function splitSubjectAltNames(text: string): string[] {
  const entries: string[] = [];
  let current = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      current += char;
      if (char === '\\') {
        current += text[i + 1] ?? '';
        i++;
      } else if (char === '"') {
        quoted = false;
      }
    } else if (char === '"') {
      quoted = true;
      current += char;
    } else if (char === ',') {
      entries.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  if (current.trim() !== '') entries.push(current.trim());
  return entries;
}
