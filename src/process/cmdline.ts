/**
 * Secrets in command lines (DESIGN: secrets never leave). A process started
 * as `server --api-key=abc -p hunter2 postgres://app:pw@db/x TOKEN=abc`
 * leaves as `server --api-key=REDACTED -p REDACTED
 * postgres://app:REDACTED@db/x TOKEN=REDACTED`.
 */

/** Name fragments that mark a value as secret, besides the configured query-parameter names. */
const BUILT_IN_NEEDLES = ['pass', 'pwd', 'secret', 'token', 'key', 'auth', 'credential', 'cert', 'private', 'signature'];
/** Short options whose value is conventionally a password (mysql -p x, sshpass -p x). */
const SECRET_SHORT_OPTIONS = new Set(['-p', '-P']);
const USERINFO = /([a-z][a-z0-9+.-]*:\/\/)([^/@\s:]*):([^/@\s]*)@/gi;

export class CommandLineRedactor {
  readonly #needles: string[];
  readonly #replacement: string;

  constructor(options: { needles?: readonly string[]; replacement: string }) {
    const all = new Set([...BUILT_IN_NEEDLES, ...(options.needles ?? [])].map((n) => n.toLowerCase()).filter((n) => n.length > 0));
    this.#needles = [...all];
    this.#replacement = options.replacement;
  }

  isSecretName(name: string): boolean {
    const lower = name.toLowerCase();
    for (const n of this.#needles) if (lower.includes(n)) return true;
    return false;
  }

  /** The arguments with secret values replaced; argument count and order kept. */
  redact(args: readonly string[]): string[] {
    const out: string[] = [];
    let secretNext = false;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i];
      if (secretNext) {
        secretNext = false;
        if (!arg.startsWith('-')) {
          out.push(this.#replacement);
          continue;
        }
      }
      if (i > 0 && arg.startsWith('-') && !arg.includes('=')) {
        // `--password x`, `-p x`: the value is the next argument.
        if (SECRET_SHORT_OPTIONS.has(arg) || (arg.startsWith('--') && this.isSecretName(arg))) secretNext = true;
        // `-phunter2` (mysql style, no space).
        else if (/^-p.+/.test(arg) && !arg.startsWith('--') && arg.length > 2) {
          out.push(`-p${this.#replacement}`);
          continue;
        }
        out.push(arg);
        continue;
      }
      out.push(this.#redactText(arg));
    }
    return out;
  }

  /** Secrets inside one argument: name=value pairs (options, env-style, query strings) and URL userinfo. */
  #redactText(arg: string): string {
    let text = arg.replace(USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${this.#replacement}@`);
    if (!text.includes('=')) return text;
    text = text.replace(/([A-Za-z0-9_.\-[\]]+)=([^&\s;,]*)/g, (whole, name: string, value: string) => {
      if (value.length === 0 || !this.isSecretName(name.replace(/^-+/, ''))) return whole;
      return `${name}=${this.#replacement}`;
    });
    return text;
  }
}
