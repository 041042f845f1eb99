// The parser ships no types; the tests use only its one function.
declare module "parse-prometheus-text-format" {
  export default function parse(text: string): unknown[];
}
