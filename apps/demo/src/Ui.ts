/**
 * Terminal output for the demo: colours (off when stdout is not a TTY, or NO_COLOR is set, or --json), a spinner
 * while waiting for a first token (TTY only), and plain tables.
 */

const enabled = process.stdout.isTTY === true && process.env.NO_COLOR === undefined && process.env.CI === undefined
let colour = enabled

/** Turns colours off (for --json and tests). */
export const setColour = (on: boolean): void => {
  colour = on && enabled
}

const wrap = (open: number, close: number) => (text: string) =>
  colour ? `\u001b[${open}m${text}\u001b[${close}m` : text

export const bold = wrap(1, 22)
export const dim = wrap(2, 22)
export const red = wrap(31, 39)
export const green = wrap(32, 39)
export const yellow = wrap(33, 39)
export const blue = wrap(34, 39)
export const magenta = wrap(35, 39)
export const cyan = wrap(36, 39)

let quiet = false

/** Silences `write` and `line` (for --json, where only `print` reaches stdout). */
export const setQuiet = (on: boolean): void => {
  quiet = on
}

/** Writes without a newline (nothing when quiet). */
export const write = (text: string): void => {
  if (!quiet) process.stdout.write(text)
}

/** Writes a line (nothing when quiet). */
export const line = (text = ""): void => {
  if (!quiet) process.stdout.write(`${text}\n`)
}

/** Writes a line even when quiet (machine-readable output). */
export const print = (text: string): void => {
  process.stdout.write(`${text}\n`)
}

/** Visible length (ANSI escapes and wide characters accounted for). */
export const width = (text: string): number => {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: stripping ANSI escape sequences
  const plain = text.replace(/\u001b\[[0-9;]*m/g, "")
  let n = 0
  for (const char of plain)
    n += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(char)
      ? 2
      : 1
  return n
}

const pad = (text: string, size: number, right = false) => {
  const fill = " ".repeat(Math.max(0, size - width(text)))
  return right ? fill + text : text + fill
}

/** A table with a header row; columns whose name starts with ">" are right-aligned. */
export const table = (header: ReadonlyArray<string>, rows: ReadonlyArray<ReadonlyArray<string>>): string => {
  const names = header.map((h) => h.replace(/^>/, ""))
  const right = header.map((h) => h.startsWith(">"))
  const sizes = names.map((name, i) => Math.max(width(name), ...rows.map((row) => width(row[i] ?? ""))))
  const render = (cells: ReadonlyArray<string>) => cells.map((cell, i) => pad(cell, sizes[i] ?? 0, right[i])).join("  ")
  return [bold(render(names)), dim(sizes.map((s) => "─".repeat(s)).join("  ")), ...rows.map(render)].join("\n")
}

/** A spinner on stderr-free stdout lines; a no-op when not a TTY. `stop()` clears it. */
export const spinner = (label: string): { readonly stop: () => void } => {
  if (!enabled || !colour || quiet) return { stop: () => {} }
  const frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
  let i = 0
  const render = () => write(`\r${cyan(frames[i++ % frames.length] ?? "")} ${dim(label)}`)
  render()
  const timer = setInterval(render, 80)
  return {
    stop: () => {
      clearInterval(timer)
      write(`\r${" ".repeat(width(label) + 2)}\r`)
    }
  }
}

/** Milliseconds, human-sized. */
export const ms = (value: number | undefined): string =>
  value === undefined ? "–" : value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`
