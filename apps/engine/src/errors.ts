/** An error the user can fix: printed as one line ("what is wrong — what to do"), exit code 1. */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly hint: string,
  ) {
    super(message);
    this.name = 'StartupError';
  }
  line(): string {
    return `${this.message} — ${this.hint}`;
  }
}
