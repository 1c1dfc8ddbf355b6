// Drives the Socket.IO Admin UI (npm's @socket.io/admin-ui, served by the app under
// test at /admin-ui/) in headless Chromium with playwright-core.
//
//   node admin_ui_browser.js URL USERNAME PASSWORD SID ROOM [SCREENSHOT.png]
//
// Logs in to the server at URL, then reads the Sockets page (is the connection SID
// listed?) and the Rooms page (is ROOM listed?). Prints one line of JSON with what
// the pages show, and exits 0; on failure, or after 60 s, prints the error and
// exits 1. With SCREENSHOT, the Sockets page is saved there. Chromium is Debian's
// /usr/bin/chromium, with a fresh profile that is removed at the end; every host
// name but 127.0.0.1 resolves to nothing.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, username, password, sid, room, screenshot] = process.argv.slice(2);
const TIMEOUT = 15000;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "admin-ui-chromium-"));
let context = null;

async function bodyText(page) {
  return page.evaluate(() => document.body.innerText);
}

async function main() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: TIMEOUT,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(`${url}/admin-ui/`, { waitUntil: "load" });
  await page.getByLabel("Server URL").fill(url);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Connect", exact: true }).click();
  await page.getByLabel("Server URL").waitFor({ state: "hidden" });

  await page.goto(`${url}/admin-ui/#/sockets/`);
  await page.getByText(sid).first().waitFor();
  const sockets = await bodyText(page);
  if (screenshot) {
    await page.waitForTimeout(1000); // the page slides in: let it settle for the picture
    await page.screenshot({ path: screenshot, fullPage: true });
  }

  await page.goto(`${url}/admin-ui/#/rooms/`);
  await page.getByText(room, { exact: true }).first().waitFor();
  const rooms = await bodyText(page);
  return { socketsListSid: sockets.includes(sid), roomsListRoom: rooms.includes(room),
    sockets, rooms };
}

const timer = setTimeout(() => {
  console.log("timed out");
  process.exit(1);
}, 60000);

main().then(async (result) => {
  console.log(JSON.stringify(result));
  clearTimeout(timer);
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(0);
}, async (err) => {
  console.log(String(err && err.stack || err));
  if (context) {
    try {
      const [page] = context.pages();
      if (page && screenshot) await page.screenshot({ path: screenshot + ".failed.png" });
      await context.close();
    } catch (e) { /* the error above is the one that matters */ }
  }
  fs.rmSync(userDataDir, { recursive: true, force: true });
  process.exit(1);
});
