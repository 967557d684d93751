/**
 * Can a topic filter match some topic a template renders? Both are small regular languages over
 * characters: a template is fixed text with placeholders (`${key}` and `${header.NAME}` stand for
 * any text, `/` included; `${partition}` for one or more digits), a filter is fixed text with `+`
 * (any text without `/`) and a last-level `#` (nothing, or `/` and any text). The answer is
 * whether the two languages share a string: a walk over pairs of positions, one in each, from the
 * starts to both ends. Exact, except that it leaves out the few strings a placeholder cannot
 * render (with `+`, `#`, U+0000), which no filter's fixed text contains anyway.
 *
 * Asked when a subscription is made, not per record.
 */
import type { CompiledPart } from './delivery-template.js';

/** What one step consumes: one given character, any character but `/`, any character, a digit. */
type CharClass = { readonly kind: 'char'; readonly code: number } | { readonly kind: 'not-slash' } | { readonly kind: 'any' } | { readonly kind: 'digit' };

/** One character of the class; `loop`: zero or more of them instead. */
interface Step {
  readonly cls: CharClass;
  readonly loop: boolean;
}

const SLASH = 0x2f;
const DOLLAR = 0x24;
const ANY: CharClass = { kind: 'any' };
const NOT_SLASH: CharClass = { kind: 'not-slash' };
const DIGIT: CharClass = { kind: 'digit' };

function isDigit(code: number): boolean {
  return code >= 0x30 && code <= 0x39;
}

function textSteps(text: string, into: Step[]): void {
  for (let i = 0; i < text.length; i++) into.push({ cls: { kind: 'char', code: text.charCodeAt(i) }, loop: false });
}

function templateSteps(parts: readonly CompiledPart[]): Step[] {
  const steps: Step[] = [];
  for (const part of parts) {
    if (part.kind === 'literal') textSteps(part.text, steps);
    else if (part.kind === 'partition') steps.push({ cls: DIGIT, loop: false }, { cls: DIGIT, loop: true });
    else steps.push({ cls: ANY, loop: true });
  }
  return steps;
}

/** The filter's steps: one list, or two when a trailing `/#` may match nothing or `/` and more. */
function filterAlternatives(filter: string): Step[][] {
  if (filter === '#') return [[{ cls: ANY, loop: true }]];
  const multi = filter.endsWith('/#');
  const body = multi ? filter.slice(0, -2) : filter;
  const steps: Step[] = [];
  body.split('/').forEach((level, index) => {
    if (index > 0) steps.push({ cls: { kind: 'char', code: SLASH }, loop: false });
    if (level === '+') steps.push({ cls: NOT_SLASH, loop: true });
    else textSteps(level, steps);
  });
  if (!multi) return [steps];
  return [steps, [...steps, { cls: { kind: 'char', code: SLASH }, loop: false }, { cls: ANY, loop: true }]];
}

function intersects(a: CharClass, b: CharClass): boolean {
  if (a.kind === 'char' && b.kind === 'char') return a.code === b.code;
  if (b.kind === 'char') return intersects(b, a);
  if (a.kind !== 'char') return true; // two classes of many characters share a digit at least
  if (b.kind === 'not-slash') return a.code !== SLASH;
  if (b.kind === 'digit') return isDigit(a.code);
  return true;
}

/** Is there a string both step lists accept? */
function shareAString(a: readonly Step[], b: readonly Step[]): boolean {
  const width = b.length + 1;
  const seen = new Uint8Array((a.length + 1) * width);
  const pending: number[] = [0];
  seen[0] = 1;
  const visit = (i: number, j: number): void => {
    const at = i * width + j;
    if (seen[at] === 0) {
      seen[at] = 1;
      pending.push(at);
    }
  };
  while (pending.length > 0) {
    const at = pending.pop()!;
    const i = Math.floor(at / width);
    const j = at % width;
    if (i === a.length && j === b.length) return true;
    const stepA = a[i];
    const stepB = b[j];
    if (stepA?.loop === true) visit(i + 1, j);
    if (stepB?.loop === true) visit(i, j + 1);
    if (stepA !== undefined && stepB !== undefined && intersects(stepA.cls, stepB.cls)) {
      visit(stepA.loop ? i : i + 1, stepB.loop ? j : j + 1);
    }
  }
  return false;
}

/**
 * Whether `filter` (valid, without a `$share/` prefix) matches at least one topic the template
 * renders; a filter starting with a wildcard matches no topic starting with `$` [MQTT-4.7.2-1].
 */
export function templateMayMatch(parts: readonly CompiledPart[], filter: string): boolean {
  const first = parts[0];
  const startsWithDollar = first?.kind === 'literal' && first.text.charCodeAt(0) === DOLLAR;
  if (startsWithDollar && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const steps = templateSteps(parts);
  return filterAlternatives(filter).some((alternative) => shareAString(alternative, steps));
}
