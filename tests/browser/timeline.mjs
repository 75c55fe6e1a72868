// timeline.mjs - chanlab's HTML trace timeline (bindings/trace/timeline.html)
// in a real browser: the system Chromium, driven by playwright-core.
//
// For each trace it makes (`chanlab run --trace x.html`), it loads the
// page from file:// with every other request refused and recorded, and
// checks: the page ran without errors; the DOM has one row per
// goroutine and one arrow per flow (the script knows its counts); a
// tooltip shows the Lua line; zooming moves the arrows; a screenshot is
// not blank; no request left the page.  The pipeline lab's screenshot is
// kept as $BUILD/trace_pipeline.png (SCREENSHOT=path copies it there too:
// that is how labs/images/trace_pipeline.png was made).
//
// Run by tests/browser/run.sh, which skips when Chromium or the driver
// is missing.  Prints "N passed, N failed".
import { chromium } from "playwright-core";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { pathToFileURL } from "node:url";

const EXE = process.env.CHANLAB || "build/chanlab";
const BUILD = process.env.BUILD || "build";
const CHROMIUM = process.env.CHROMIUM || "/usr/bin/chromium";
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "chanlab-browser-"));
let passed = 0, failed = 0;

function check(cond, msg) { if (!cond) throw new Error(msg); }

// traceOf(script, args) -> the path of an HTML trace of the script.
function traceOf(name, script, args = []) {
  const file = path.join(tmp, name + ".html");
  let src = script;
  if (!fs.existsSync(script)) {
    src = path.join(tmp, name + ".lua");
    fs.writeFileSync(src, script);
  }
  try {
    execFileSync(EXE, ["run", ...args, "--trace", file, src], { stdio: ["ignore", "ignore", "pipe"] });
  } catch (e) {
    if (!fs.existsSync(file)) throw e;   // a deadlock exits 2 and still writes
  }
  return file;
}

// Open the page with every request but the page itself refused.
async function open(browser, file) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const url = pathToFileURL(file).href;
  const outside = [], errors = [];
  page.on("pageerror", (e) => errors.push(String(e)));
  page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
  page.on("request", (r) => { if (r.url() !== url) outside.push(r.url()); });
  await page.route("**/*", (route) =>
    route.request().url() === url ? route.continue() : route.abort());
  await page.goto(url);
  await page.waitForSelector('body[data-ready="1"]', { timeout: 10000 });
  return { page, outside, errors };
}

// Distinct colours and the share of non-white pixels of a PNG, decoded by
// the browser itself in a blank page.
async function pixels(browser, png) {
  const page = await browser.newPage();
  const r = await page.evaluate(async (b64) => {
    const img = new Image();
    img.src = "data:image/png;base64," + b64;
    await img.decode();
    const c = document.createElement("canvas");
    c.width = img.width; c.height = img.height;
    const g = c.getContext("2d");
    g.drawImage(img, 0, 0);
    const d = g.getImageData(0, 0, c.width, c.height).data;
    const colours = new Set();
    let ink = 0;
    for (let i = 0; i < d.length; i += 4) {
      colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
      if (d[i] < 240 || d[i + 1] < 240 || d[i + 2] < 240) ink++;
    }
    return { colours: colours.size, ink: ink / (d.length / 4), w: c.width, h: c.height };
  }, png.toString("base64"));
  await page.close();
  return r;
}

async function test(name, fn) {
  try {
    await fn();
    passed++;
    console.log("ok   " + name);
  } catch (e) {
    failed++;
    console.log("FAIL " + name + ": " + (e && e.message ? e.message : e));
  }
}

// 3 producers send 4 values each to the main goroutine; they and the
// main goroutine are the 4 rows; 12 values + 3 go() arrows.
const COUNTS = `
local c, wg = chan(), sync.waitgroup()
local function producer(id)
  for i = 1, 4 do c:send(id * 10 + i) end
end
for id = 1, 3 do wg:go(producer, id) end
for _ = 1, 12 do c:recv() end
wg:wait()
`;

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});

await test("counts: one row per goroutine, one arrow per value received", async () => {
  const { page, outside, errors } = await open(browser, traceOf("counts", COUNTS, ["--procs", "2"]));
  check(errors.length === 0, "page errors: " + errors.join("; "));
  const rows = await page.locator(".row").count();
  check(rows === 4, "rows: " + rows);
  const labels = await page.locator(".row .label").allTextContents();
  check(labels[0].startsWith("G1 main ("), "first row: " + labels[0]);
  check(labels.slice(1).every((l) => /^G\d+ producer \(counts\.lua:3\)$/.test(l)), "rows: " + labels);
  const values = await page.locator("path.arrow.value").count();
  check(values === 12, "value arrows: " + values);
  const gos = await page.locator("path.arrow.go").count();
  check(gos === 3, "go arrows: " + gos);
  const all = await page.locator("path.arrow").count();
  const flows = await page.evaluate(() => JSON.parse(document.getElementById("trace-data").textContent).flows.length);
  check(all === flows, `arrows ${all}, flows ${flows}`);
  check(outside.length === 0, "requests left the page: " + outside.join(", "));
  await page.close();
});

await test("pipeline lab: hover, zoom, screenshot, nothing fetched", async () => {
  const { page, outside, errors } = await open(browser, traceOf("pipeline", "labs/02_pipeline.lua", ["--seed", "1"]));
  check(errors.length === 0, "page errors: " + errors.join("; "));
  check(await page.locator(".row").count() === 4, "rows");
  check(await page.locator("path.arrow.value").count() === 15, "value arrows (5 values x 3 channels)");
  check(await page.locator("#gtable tr").count() === 5, "summary table rows");
  check(await page.locator("#ctable tr").count() === 4, "channel table rows");
  // a tooltip over the main goroutine's first blocked span names the line
  const box = await page.evaluate(() => {
    const d = JSON.parse(document.getElementById("trace-data").textContent);
    const s = d.gs[0].sp.find((x) => x[2] === 2);
    const r = document.getElementById("lanes").getBoundingClientRect();
    return { x: r.left + window.chanlabTimeline.x((s[0] + s[1]) / 2), y: r.top + 13 };
  });
  await page.mouse.move(box.x, box.y);
  const tip = await page.locator("#tip").textContent();
  check(/blocked: chan receive/.test(tip) && /02_pipeline\.lua:37/.test(tip), "tooltip: " + tip);
  const bottom = await page.evaluate(() =>
    Math.ceil(document.getElementById("ctable").getBoundingClientRect().bottom + 16));
  const shot = await page.screenshot({ clip: { x: 0, y: 0, width: 1400, height: bottom } });
  fs.writeFileSync(path.join(BUILD, "trace_pipeline.png"), shot);
  if (process.env.SCREENSHOT) fs.writeFileSync(process.env.SCREENSHOT, shot);
  const px = await pixels(browser, shot);
  check(px.colours > 20 && px.ink > 0.05, `blank screenshot? ${JSON.stringify(px)}`);
  // zooming in moves the arrows
  const before = await page.locator("path.arrow.value").first().getAttribute("d");
  await page.click("#zin");
  await page.waitForTimeout(100);
  const after = await page.locator("path.arrow.value").first().getAttribute("d").catch(() => null);
  check(before !== after, "zoom did not move the arrows");
  check(outside.length === 0, "requests left the page: " + outside.join(", "));
  await page.close();
});

await test("a deadlocked run's trace opens and shows who is stuck", async () => {
  const { page, errors } = await open(browser, traceOf("deadlock", `
local c = chan()
go(function() c:recv() end)
c:recv()
`));
  check(errors.length === 0, "page errors: " + errors.join("; "));
  check(await page.locator(".row").count() === 2, "rows");
  const facts = await page.locator("#facts").textContent();
  check(/exit status 2 \(deadlock\)/.test(facts), "facts: " + facts);
  await page.close();
});

await browser.close();
fs.rmSync(tmp, { recursive: true, force: true });
console.log(`browser: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
