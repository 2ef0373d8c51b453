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
  // case and task pages: the read-only viewer with the completed path highlighted
  ["bpmn-js/dist/bpmn-navigated-viewer.production.min.js", "bpmn-js/bpmn-navigated-viewer.production.min.js"],
  ["@bpmn-io/properties-panel/dist/assets/properties-panel.css", "cecp-designer/properties-panel.css"],
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
// The designer: bpmn-js + its properties panel (Camunda 7 provider) + bpmn-auto-layout, one
// file built from the npm packages (tools/designer-entry.js); esbuild is a devDependency.
require("esbuild").buildSync({
  entryPoints: [path.join(__dirname, "designer-entry.js")],
  bundle: true, minify: true, format: "iife", target: "es2019", logLevel: "warning",
  outfile: path.join(out, "cecp-designer", "cecp-designer.js"),
});
console.log(`vendor assets copied to ${path.relative(root, out)}`);
