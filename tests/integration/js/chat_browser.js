// Drives the chat example (examples/chat) in headless Chromium with playwright-core.
//
//   node chat_browser.js URL [SCREENSHOT.png]
//
// Three pages: alice and bob join room "blue", carol joins room "red"; alice and
// bob each say something, then carol does; carol tries to post to "blue", which
// she never joined; bob closes his tab. Prints one line of JSON with what each
// page shows, and exits 0; on failure, or after 60 s, prints the error and
// exits 1. With SCREENSHOT, alice's page is saved there at the end. Chromium is Debian's /usr/bin/chromium, with a fresh profile that is
// removed at the end; every host name but 127.0.0.1 resolves to nothing.
"use strict";

const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, screenshot] = process.argv.slice(2);
const TIMEOUT = 15000;
const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "chat-chromium-"));
let context = null;

async function openChat(name, room) {
  const page = await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  await page.goto(url, { waitUntil: "load" });
  await page.waitForSelector("#connection:has-text('connected')");
  await page.fill("#username", name);
  await page.fill("#room", room);
  await page.click("#join");
  await waitForLog(page, "li.status", `${name} joined ${room}`);
  return page;
}

async function say(page, text) {
  await page.fill("#message", text);
  await page.click("#send");
}

// A log line as a person reads it: "who: text" for a message, the text of a notice.
function waitForLog(page, selector, text) {
  return page.waitForFunction(
    ([sel, wanted]) => [...document.querySelectorAll(`#log ${sel}`)].some((item) => {
      const who = item.querySelector(".who");
      const shown = who ? `${who.textContent}: ${item.querySelector(".text").textContent}`
        : item.textContent;
      return shown === wanted;
    }),
    [selector, text], { timeout: TIMEOUT });
}

function log(page, selector) {
  return page.$$eval(`#log ${selector}`, (items) => items.map((item) => {
    const who = item.querySelector(".who");
    return who ? `${who.textContent}: ${item.querySelector(".text").textContent}`
      : item.textContent;
  }));
}

function texts(page, selector) {
  return page.$$eval(selector, (items) => items.map((item) => item.textContent));
}

async function main() {
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: TIMEOUT,
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    ],
  });
  const alice = await openChat("alice", "blue");
  const bob = await openChat("bob", "blue");
  const carol = await openChat("carol", "red");

  await say(alice, "hello from alice");
  await say(bob, "hello from bob");
  for (const page of [alice, bob]) {
    await waitForLog(page, "li.message", "alice: hello from alice");
    await waitForLog(page, "li.message", "bob: hello from bob");
  }
  // Carol speaks after both blue messages went out: anything misrouted to her
  // would arrive before her own message, on the same connection.
  await say(carol, "hello from carol");
  await waitForLog(carol, "li.message", "carol: hello from carol");
  const usersBeforeLeaving = await texts(alice, "#users li");

  // Posting to a room she never joined: refused with an error she sees.
  const refused = await carol.evaluate(() => new Promise((resolve) =>
    socket.emit("text", { room: "blue", msg: "sneaky" }, resolve)));
  await carol.waitForFunction(() => document.getElementById("error").textContent === "");

  const result = {};
  for (const [name, page] of Object.entries({ alice, bob, carol })) {
    result[name] = {
      messages: await log(page, "li.message"),
      statuses: await log(page, "li.status"),
      transport: await page.evaluate(() => socket.io.engine.transport.name),
    };
  }
  await bob.close();
  await waitForLog(alice, "li.status", "bob left blue");
  await alice.waitForFunction(() => document.querySelectorAll("#users li").length === 1);
  result.refused = refused;
  result.usersBeforeLeaving = usersBeforeLeaving;
  result.usersAfterLeaving = await texts(alice, "#users li");
  result.aliceStatusesAfterLeaving = await log(alice, "li.status");
  result.aliceMessagesAfterLeaving = await log(alice, "li.message");
  if (screenshot) {
    await alice.fill("#message", "see you, bob!");
    await alice.setViewportSize({ width: 1000, height: 620 });
    await alice.screenshot({ path: screenshot });
  }
  console.log(JSON.stringify(result));
}

const watchdog = setTimeout(() => {
  console.error("the browser scenario timed out");
  process.exit(1);
}, 60000);

async function cleanUp() {
  clearTimeout(watchdog);
  if (context !== null) await context.close().catch(() => {});
  fs.rmSync(userDataDir, { recursive: true, force: true });
}

main().then(cleanUp, async (err) => {
  console.error(err && err.stack ? err.stack : String(err));
  await cleanUp();
  process.exit(1);
});
