// Copies the built front-end assets from node_modules into app/static/vendor.
const fs = require("fs");
const path = require("path");

const root = path.join(__dirname, "..");
const out = path.join(root, "app", "static", "vendor");
const copies = [
  ["bootstrap/dist/css/bootstrap.min.css", "bootstrap/css/bootstrap.min.css"],
  ["bootstrap/dist/js/bootstrap.bundle.min.js", "bootstrap/js/bootstrap.bundle.min.js"],
  ["echarts/dist/echarts.min.js", "echarts/echarts.min.js"],
  ["bpmn-js/dist/bpmn-modeler.production.min.js", "bpmn-js/bpmn-modeler.production.min.js"],
  ["bpmn-js/dist/assets", "bpmn-js/assets"],
  ["swagger-ui-dist/swagger-ui.css", "swagger-ui/swagger-ui.css"],
  ["swagger-ui-dist/swagger-ui-bundle.js", "swagger-ui/swagger-ui-bundle.js"],
  ["swagger-ui-dist/swagger-ui-standalone-preset.js", "swagger-ui/swagger-ui-standalone-preset.js"],
  // accessibility checks of the browser tests (injected by tests/e2e, never by a page)
  ["axe-core/axe.min.js", "axe-core/axe.min.js"],
  ["axe-core/LICENSE", "axe-core/LICENSE"],
];
for (const [from, to] of copies) {
  const src = path.join(root, "node_modules", from);
  const dst = path.join(out, to);
  fs.mkdirSync(path.dirname(dst), { recursive: true });
  fs.cpSync(src, dst, { recursive: true });
}
console.log(`vendor assets copied to ${path.relative(root, out)}`);
