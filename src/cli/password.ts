import { DomainError } from "../lib/errors";

/**
 * Gets a new password: from standard input with `--password-stdin` (for scripts), otherwise from
 * the terminal without echo, asked twice. It never comes from an argument, where `ps` and shell
 * history would see it.
 */
export async function readNewPassword(fromStdin: boolean): Promise<string> {
  if (fromStdin) return (await Bun.stdin.text()).replace(/\r?\n$/, "");
  if (!process.stdin.isTTY) {
    throw new DomainError("invalid", "no_terminal", "No terminal to ask for the password on: pipe it in with --password-stdin");
  }
  const [first, second] = await askHidden(["Password: ", "Password again: "]);
  if (first !== second) throw new DomainError("invalid", "password_mismatch", "The two passwords differ");
  return first!;
}

/**
 * Asks each question in turn with the terminal in raw mode, so nothing typed is echoed. Raw mode
 * is set before the first question shows and kept until the last answer, so no keystroke can
 * arrive while the terminal would still echo it.
 */
function askHidden(questions: string[]): Promise<string[]> {
  const stdin = process.stdin;
  stdin.setRawMode(true);
  stdin.setEncoding("utf8");
  const answers: string[] = [];
  let typed = "";
  let previous = "";
  process.stderr.write(questions[0]!);
  return new Promise((resolve, reject) => {
    const finish = (done: () => void) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      done();
    };
    const onData = (chunk: string) => {
      for (const key of chunk) {
        const afterReturn = previous === "\r";
        previous = key;
        if (key === "\u0003") return finish(() => reject(new DomainError("invalid", "cancelled", "Cancelled")));
        // Enter is \r in raw mode; a \r\n pair (pasted text) is one Enter, not two.
        if (key === "\n" && afterReturn) continue;
        if (key === "\r" || key === "\n") {
          answers.push(typed);
          typed = "";
          process.stderr.write("\n");
          if (answers.length === questions.length) return finish(() => resolve(answers));
          process.stderr.write(questions[answers.length]!);
        } else if (key === "\u007f" || key === "\b") typed = typed.slice(0, -1);
        else typed += key;
      }
    };
    stdin.on("data", onData);
    stdin.resume();
  });
}
