/**
 * Just enough Markdown reading to check documentation the way GitHub renders it: headings and the
 * anchors GitHub gives them, links and their targets, and tables. Fenced code, inline code and
 * HTML comments are not prose: links and headings inside them do not count.
 */

/** A link written in a document: `[text](target)`, `![alt](target)`, `[label]: target` or `<a href>`. */
export interface MarkdownLink {
  readonly target: string;
  /** 1-based line of the document, for messages. */
  readonly line: number;
}

/** One body row of a table, cells trimmed, with the header cells of its table. */
export interface MarkdownTableRow {
  readonly header: readonly string[];
  readonly cells: readonly string[];
  readonly line: number;
}

const FENCE = /^ {0,3}(`{3,}|~{3,})/;
const CODE_SPAN = /(`+)([\s\S]*?[^`])\1(?!`)/g;
const TABLE_DELIMITER = /^\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$/;

/**
 * The document's lines with fenced code blocks blanked out (line numbers stay), so what is read
 * from it is prose only.
 */
export function proseLines(markdown: string): string[] {
  let fence: string | undefined;
  return markdown.split('\n').map((line) => {
    const opening = FENCE.exec(line);
    if (fence === undefined) {
      if (opening === null) return line;
      fence = opening[1]!;
      return '';
    }
    // A fence closes with at least as many of the same character and nothing else on the line.
    const closes = opening !== null && opening[1]![0] === fence[0] && opening[1]!.length >= fence.length && line.trim() === opening[1];
    if (closes) fence = undefined;
    return '';
  });
}

/** Blanks HTML comments (they may span lines; line breaks stay). */
function withoutComments(markdown: string): string {
  return markdown.replace(/<!--[\s\S]*?-->/g, (comment) => comment.replace(/[^\n]/g, ''));
}

/** Replaces the content of inline code spans with spaces, keeping the backticks and the positions. */
function blankCodeSpans(line: string): string {
  return line.replace(CODE_SPAN, (_span, ticks: string, content: string) => `${ticks}${' '.repeat(content.length)}${ticks}`);
}

/** A code span's content as CommonMark reads it: one leading and one trailing space go when both are there. */
function codeContent(content: string): string {
  return /^ [\s\S]* $/.test(content) && content.trim() !== '' ? content.slice(1, -1) : content;
}

/** Inline Markdown outside code spans reduced to its text: tags, link targets, emphasis markers and escapes go. */
function plainText(inline: string): string {
  return inline
    .replace(/<[^>]+>/g, '')
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
    .replace(/!?\[([^\]]*)\]\[[^\]]*\]/g, '$1')
    .replace(/(\*\*|__)(.+?)\1/g, '$2')
    .replace(/(^|[^\p{L}\p{N}])[*_](.+?)[*_](?=$|[^\p{L}\p{N}])/gu, '$1$2')
    .replace(/\\([!-/:-@[-`{-~])/g, '$1');
}

/** The text GitHub shows for a heading's inline Markdown: code, links and emphasis reduced to their text. */
export function headingText(inline: string): string {
  let text = '';
  let last = 0;
  for (const match of inline.matchAll(CODE_SPAN)) {
    text += plainText(inline.slice(last, match.index)) + codeContent(match[2]!);
    last = match.index + match[0].length;
  }
  return (text + plainText(inline.slice(last))).trim();
}

/**
 * GitHub's anchor for a heading text (github-slugger): lower case; every character that is not a
 * letter, mark, digit, connector punctuation (`_`), space or hyphen removed; spaces become hyphens.
 */
export function githubSlug(text: string): string {
  return text
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
    .replace(/ /g, '-');
}

/**
 * Every anchor a document offers, in order: its headings' slugs (a repeated slug gets `-1`, `-2`,
 * … as GitHub numbers them) and the ids and names of HTML anchors (`<a id="x">`).
 */
export function documentAnchors(markdown: string): string[] {
  const anchors: string[] = [];
  const seen = new Map<string, number>();
  const lines = proseLines(withoutComments(markdown));
  lines.forEach((line, index) => {
    for (const match of blankCodeSpans(line).matchAll(/<a\s+(?:[^>]*\s)?(?:id|name)="([^"]+)"/g)) anchors.push(match[1]!);
    let text: string | undefined;
    const atx = /^ {0,3}#{1,6}(?:\s+(.*?))?(?:\s+#+)?\s*$/.exec(line);
    if (atx !== null) text = atx[1] ?? '';
    // Setext: a paragraph line underlined with === or ---.
    else if (/^ {0,3}(=+|-+)\s*$/.test(lines[index + 1] ?? '') && line.trim() !== '' && !/^\s*([|>*+-]|\d+[.)])/.test(line)) text = line.trim();
    if (text === undefined) return;
    const slug = githubSlug(headingText(text));
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.push(count === 0 ? slug : `${slug}-${count}`);
  });
  return anchors;
}

/** Every link in the document's prose (not in code blocks, code spans or HTML comments). */
export function documentLinks(markdown: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  proseLines(withoutComments(markdown)).forEach((raw, index) => {
    const line = blankCodeSpans(raw);
    const at = index + 1;
    const definition = /^ {0,3}\[[^\]]+\]:\s*<?([^\s>]+)>?/.exec(line);
    if (definition !== null) links.push({ target: definition[1]!, line: at });
    // [text](target) and ![alt](target); the text may hold code spans (blanked above).
    for (const match of line.matchAll(/!?\[[^\]]*\]\(\s*<?([^\s)>]+)>?(?:\s+"[^"]*")?\s*\)/g)) links.push({ target: match[1]!, line: at });
    for (const match of line.matchAll(/<(?:a|img)\s+[^>]*?(?:href|src)="([^"]+)"/g)) links.push({ target: match[1]!, line: at });
  });
  return links;
}

/**
 * Splits a table line into its cells as GitHub does: on every `|` not written `\|`, inside code
 * spans too (GitHub's tables split there, so a pipe in a cell must be escaped).
 */
function tableCells(line: string): string[] {
  const text = line.trim().replace(/^\|/, '').replace(/(?<!\\)\|$/, '');
  return text.split(/(?<!\\)\|/).map((cell) => cell.replace(/\\\|/g, '|').trim());
}

/** Every body row of every table in the document's prose. */
export function tableRows(markdown: string): MarkdownTableRow[] {
  const rows: MarkdownTableRow[] = [];
  const lines = proseLines(markdown);
  let header: string[] | undefined;
  lines.forEach((line, index) => {
    if (!/^\s*\|/.test(line)) {
      header = undefined;
      return;
    }
    if (header === undefined) {
      if (TABLE_DELIMITER.test(lines[index + 1] ?? '')) header = tableCells(line);
      return;
    }
    if (TABLE_DELIMITER.test(line)) return;
    rows.push({ header, cells: tableCells(line), line: index + 1 });
  });
  return rows;
}

/** The contents of the inline code spans of a piece of Markdown, in order. */
export function codeSpans(inline: string): string[] {
  return [...inline.matchAll(CODE_SPAN)].map((match) => codeContent(match[2]!));
}
