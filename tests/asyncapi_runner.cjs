// Validates AsyncAPI documents with the AsyncAPI Initiative's own parser (@asyncapi/parser: the
// specification's JSON Schema plus its Spectral rules, e.g. examples against their payloads)
// and prints its findings as one JSON array: [{file, severity, code, message, path}, ...],
// severity being error, warning, info or hint. Exit 0 unless it crashed (2) or the parser is
// not installed (3).
const fs = require("node:fs");

let Parser;
try {
  ({ Parser } = require("@asyncapi/parser"));
} catch (error) {
  console.error("@asyncapi/parser is not installed: run `npm ci` in the template repository");
  process.exit(3);
}

const SEVERITIES = ["error", "warning", "info", "hint"];

(async () => {
  const parser = new Parser();
  const findings = [];
  for (const file of process.argv.slice(2)) {
    const { diagnostics } = await parser.parse(fs.readFileSync(file, "utf8"), { source: file });
    for (const d of diagnostics) {
      findings.push({
        file,
        severity: SEVERITIES[d.severity] ?? String(d.severity),
        code: String(d.code),
        message: d.message,
        path: d.path.join("/"),
      });
    }
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
