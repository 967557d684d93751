/**
 * Configuration errors. Every problem names the file, the path inside it and what is wrong, so an
 * operator can fix a config without reading source code.
 */

/** One thing wrong with a configuration. */
export interface ConfigProblem {
  /** The file as the user named it (or `<inline>`, or whatever name the caller gave the text). */
  readonly file: string;
  /**
   * Where in the file, e.g. `mappings[1] "telemetry".key` or `line 3, column 5`. Empty when the
   * problem concerns the file as a whole (unreadable, empty).
   */
  readonly path: string;
  /** What is wrong, and where useful what would be right. */
  readonly problem: string;
}

/** Formats one problem as `FILE: PATH: PROBLEM` (`FILE: PROBLEM` when the path is empty). */
export function formatConfigProblem({ file, path, problem }: ConfigProblem): string {
  return path === '' ? `${file}: ${problem}` : `${file}: ${path}: ${problem}`;
}

/**
 * Thrown when a configuration cannot be used. Validation reports every problem it finds, not only
 * the first: `problems` holds them all (at least one); `file`, `path` and `problem` repeat the first
 * for callers that only care about one. The message has one `FILE: PATH: PROBLEM` line per problem.
 */
export class ConfigError extends Error implements ConfigProblem {
  readonly file: string;
  readonly path: string;
  readonly problem: string;
  readonly problems: readonly ConfigProblem[];

  constructor(file: string, path: string, problem: string, options?: ErrorOptions);
  constructor(problems: readonly ConfigProblem[], options?: ErrorOptions);
  constructor(
    fileOrProblems: string | readonly ConfigProblem[],
    pathOrOptions?: string | ErrorOptions,
    problem?: string,
    options?: ErrorOptions,
  ) {
    const problems: readonly ConfigProblem[] =
      typeof fileOrProblems === 'string'
        ? [{ file: fileOrProblems, path: typeof pathOrOptions === 'string' ? pathOrOptions : '', problem: problem ?? '' }]
        : fileOrProblems.map(({ file, path, problem: what }) => ({ file, path, problem: what }));
    const first = problems[0];
    if (first === undefined) throw new TypeError('ConfigError needs at least one problem');
    super(problems.map(formatConfigProblem).join('\n'), typeof pathOrOptions === 'object' ? pathOrOptions : options);
    this.name = 'ConfigError';
    this.file = first.file;
    this.path = first.path;
    this.problem = first.problem;
    this.problems = Object.freeze(problems.map((p) => Object.freeze(p)));
  }
}
