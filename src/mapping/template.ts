/**
 * Kafka topic and key templates.
 *
 * Syntax (decided here, documented in README):
 * - `${name}`   a named group of the rule's regex
 * - `$1`..`$9`  a numbered group; exactly ONE digit follows `$`, so `$12` is group 1 then the text
 *               "2" (it never depends on how many groups the regex has). Use `${12}` for group 12.
 * - `${N}`      a numbered group, any number of digits
 * - `${topic}` `${clientId}` `${username}` `${certCN}`  values of the PUBLISH / connection
 * - `$$`        a literal `$` (only useful in keys: Kafka topics cannot contain `$`)
 * Any other `$` is an error (a typo such as `$deviceId` must not become literal text silently), and
 * so is group 0 (use `${topic}` for the whole MQTT topic).
 *
 * Templates are parsed once, at startup, into parts; rendering is a loop of concatenations with no
 * parsing or regex work.
 */
import type { RouteInput } from './types.js';

export const BUILTIN_TEMPLATE_NAMES = ['topic', 'clientId', 'username', 'certCN'] as const;
export type BuiltinTemplateName = (typeof BUILTIN_TEMPLATE_NAMES)[number];

export function isBuiltinTemplateName(name: string): name is BuiltinTemplateName {
  return (BUILTIN_TEMPLATE_NAMES as readonly string[]).includes(name);
}

export type TemplatePart =
  | { readonly kind: 'literal'; readonly text: string }
  /** Numbered capture group, 1-based. */
  | { readonly kind: 'group'; readonly index: number }
  | { readonly kind: 'named'; readonly name: string }
  | { readonly kind: 'topic' }
  | { readonly kind: 'clientId' }
  | { readonly kind: 'username' }
  | { readonly kind: 'certCN' };

/** The capture groups of a regex, as far as templates care. */
export interface RegexGroups {
  /** Number of capture groups, named ones included (JavaScript numbers those too). */
  readonly count: number;
  /** Named groups in the order they appear. */
  readonly names: readonly string[];
}

/** Reads the groups of a compiled regex without parsing its source. */
export function regexGroups(regex: RegExp): RegexGroups {
  // An alternative that matches the empty string makes exec succeed, and the result has one slot
  // per group and a `groups` object with every name, whatever the original regex requires.
  const probe = new RegExp(`(?:${regex.source})|`).exec('');
  if (probe === null) throw new Error('unreachable: an empty alternative always matches');
  return { count: probe.length - 1, names: Object.keys(probe.groups ?? {}) };
}

/** A template that cannot be compiled. `message` is the problem alone; the caller adds file and path. */
export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

export interface CompiledTemplate {
  readonly source: string;
  readonly parts: readonly TemplatePart[];
  /** The rendered value when the template has no placeholders, otherwise null. */
  readonly staticValue: string | null;
  /** True when rendering needs the regex match (numbered or named groups). */
  readonly usesGroups: boolean;
  /** `match` may be null only when `usesGroups` is false. */
  render(match: RegExpExecArray | null, input: RouteInput): string;
}

/** Compiles `source` against the groups of the rule's regex; throws TemplateError. */
export function compileTemplate(source: string, groups: RegexGroups): CompiledTemplate {
  const parts: TemplatePart[] = [];
  let literal = '';
  const flushLiteral = (): void => {
    if (literal !== '') parts.push({ kind: 'literal', text: literal });
    literal = '';
  };
  const pushPlaceholder = (part: TemplatePart): void => {
    flushLiteral();
    parts.push(part);
  };

  let i = 0;
  while (i < source.length) {
    const char = source[i];
    if (char !== '$') {
      literal += char;
      i++;
      continue;
    }
    const next = source[i + 1];
    if (next === '$') {
      literal += '$';
      i += 2;
    } else if (next !== undefined && next >= '0' && next <= '9') {
      pushPlaceholder(numberedGroup(Number(next), `$${next}`, groups));
      i += 2;
    } else if (next === '{') {
      const close = source.indexOf('}', i + 2);
      if (close === -1) {
        throw new TemplateError(`unterminated "\${" at character ${i + 1} of ${JSON.stringify(source)}`);
      }
      pushPlaceholder(placeholder(source.slice(i + 2, close), groups));
      i = close + 1;
    } else {
      throw new TemplateError(loneDollarProblem(source, i));
    }
  }
  flushLiteral();
  return new PartsTemplate(source, parts);
}

function numberedGroup(index: number, written: string, groups: RegexGroups): TemplatePart {
  if (index === 0) {
    throw new TemplateError(`${written} (group 0) is not supported: use \${topic} for the whole MQTT topic`);
  }
  if (index > groups.count) {
    const has = groups.count === 0 ? 'no capture groups' : groups.count === 1 ? '1 group' : `${groups.count} groups`;
    throw new TemplateError(`template names group ${written} but the regex has ${has}`);
  }
  return { kind: 'group', index };
}

function placeholder(content: string, groups: RegexGroups): TemplatePart {
  if (/^[0-9]+$/.test(content)) return numberedGroup(Number(content), `\${${content}}`, groups);
  if (isBuiltinTemplateName(content)) return { kind: content };
  // Any name the regex declares is usable, including non-ASCII ones JavaScript allows.
  if (groups.names.includes(content)) return { kind: 'named', name: content };
  if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(content)) {
    const has = groups.names.length === 0 ? 'no named groups' : `groups ${groups.names.join(', ')}`;
    throw new TemplateError(`template names group ${JSON.stringify(content)} but the regex has ${has}`);
  }
  throw new TemplateError(
    `unsupported placeholder ${JSON.stringify(`\${${content}}`)}: use \${name} for a named group, $1..$9 or \${N} ` +
      `for a numbered group, or one of ${BUILTIN_TEMPLATE_NAMES.map((name) => `\${${name}}`).join(', ')}`,
  );
}

function loneDollarProblem(source: string, index: number): string {
  const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(source.slice(index + 1))?.[0];
  if (word !== undefined) {
    return `"$${word}" is not a placeholder: write \${${word}} (or $$ for a literal "$")`;
  }
  return `lone "$" at character ${index + 1} of ${JSON.stringify(source)}: write $$ for a literal "$"`;
}

/** The text one part renders to; exported for renderers that check each part (Kafka topics). */
export function templatePartValue(part: TemplatePart, match: RegExpExecArray | null, input: RouteInput): string {
  switch (part.kind) {
    case 'literal':
      return part.text;
    case 'group':
      // An optional group that did not participate is undefined: it renders as nothing.
      return match?.[part.index] ?? '';
    case 'named':
      return match?.groups?.[part.name] ?? '';
    case 'topic':
      return input.topic;
    case 'clientId':
      return input.clientId;
    case 'username':
      return input.username ?? '';
    case 'certCN':
      return input.certCN ?? '';
  }
}

class PartsTemplate implements CompiledTemplate {
  readonly staticValue: string | null;
  readonly usesGroups: boolean;

  constructor(
    readonly source: string,
    readonly parts: readonly TemplatePart[],
  ) {
    Object.freeze(parts);
    this.staticValue = parts.every((part) => part.kind === 'literal') ? parts.map(literalText).join('') : null;
    this.usesGroups = parts.some((part) => part.kind === 'group' || part.kind === 'named');
  }

  render(match: RegExpExecArray | null, input: RouteInput): string {
    if (this.staticValue !== null) return this.staticValue;
    const parts = this.parts;
    // One part (the common `${deviceId}` / `${topic}` key) needs no concatenation at all.
    if (parts.length === 1) return templatePartValue(parts[0], match, input);
    let out = '';
    for (let i = 0; i < parts.length; i++) out += templatePartValue(parts[i], match, input);
    return out;
  }
}

function literalText(part: TemplatePart): string {
  return part.kind === 'literal' ? part.text : '';
}
