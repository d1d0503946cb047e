/**
 * A real headless Chromium for the report page's tests and benchmark, driven by puppeteer-core. The
 * browser is the machine's own (Debian's `chromium` package, or any Chrome): puppeteer-core downloads
 * nothing. Every request the page makes is intercepted, counted and refused, so a test can show that
 * none leaves it; console errors and uncaught exceptions are collected.
 */
import { existsSync } from 'node:fs';
import type { Browser, Page } from 'puppeteer-core';

/** Where Chromium or Chrome usually is, after PUPPETEER_EXECUTABLE_PATH. */
const USUAL_PATHS = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

export class BrowserMissing extends Error {
  override name = 'BrowserMissing';
}

/** The browser to drive, or an error that says how to get one. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): string {
  const given = env.PUPPETEER_EXECUTABLE_PATH;
  if (given) {
    if (!existsSync(given)) throw new BrowserMissing(`PUPPETEER_EXECUTABLE_PATH is ${given}, which does not exist`);
    return given;
  }
  const found = USUAL_PATHS.find((p) => existsSync(p));
  if (!found) {
    throw new BrowserMissing(
      `no Chromium found (looked at PUPPETEER_EXECUTABLE_PATH, then ${USUAL_PATHS.join(', ')}): install one (Debian/Ubuntu: sudo apt-get install -y chromium) or set PUPPETEER_EXECUTABLE_PATH`,
    );
  }
  return found;
}

export async function launchChromium(): Promise<Browser> {
  const puppeteer = await import('puppeteer-core');
  return puppeteer.launch({
    executablePath: findChromium(),
    headless: true,
    // The sandbox needs kernel features containers often lack; the pages opened are our own files.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check'],
  });
}

export interface WatchedPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions, in order. */
  readonly errors: string[];
  /** Every request the page made other than for the page itself (each was refused). */
  readonly requests: string[];
}

/** A new page whose requests (but the page's own) are counted and refused, and whose errors are kept. */
export async function watchedPage(browser: Browser, viewport = { width: 1360, height: 900 }): Promise<WatchedPage> {
  const page = await browser.newPage();
  await page.setViewport(viewport);
  const errors: string[] = [];
  const requests: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(String(error)));
  await page.setRequestInterception(true);
  let document: string | null = null;
  page.on('request', (request) => {
    if (document === null && request.isNavigationRequest()) {
      document = request.url();
      void request.continue();
      return;
    }
    requests.push(request.url());
    void request.abort('blockedbyclient');
  });
  return { page, errors, requests };
}

/** Opens a page file and waits until its script has rendered everything; returns the time that took in the page, in ms. */
export async function openReport(watched: WatchedPage, file: string, timeoutMs = 30_000): Promise<number> {
  await watched.page.goto(`file://${file}`, { waitUntil: 'load', timeout: timeoutMs });
  await watched.page.waitForSelector('body[data-ready="true"]', { timeout: timeoutMs });
  // Source text: the page runs it as written.
  return watched.page.evaluate("Number(document.body.getAttribute('data-ready-ms'))") as Promise<number>;
}
