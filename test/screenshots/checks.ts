/**
 * What the screenshot test checks in the browser, on a page the renderer built (call-screen or room-screen): no label overflows its box
 * (or wraps where it must not), every tappable element is at least 88 rpx (44 px at 375) both ways, text
 * drawn over video or scrims has 4.5:1 contrast against the lightest pixel behind it (WCAG 2's ratio; the
 * picture is the renderer's bright wall, the worst case), and the boxes of the controls, for comparing two
 * renderings of the same state (with and without `"style": "v2"`, with an app's hostile global styles).
 * Every function returns problems as sentences; none throws on a finding.
 */
import fs from 'fs';
import path from 'path';
import type { Page } from 'playwright-core';
import { COMPONENTS_ROOT } from '../helpers/simulate';

/** WeChat asks for touch targets of at least 88 rpx; at 375 px wide that is 44 px. */
export const MIN_TARGET_PX = 44;
export const MIN_CONTRAST = 4.5;

/** The first class of every element with a `bindtap` in the kit's templates: what a finger can hit. */
export function tappableSelectors(): string[] {
  const selectors = new Set<string>();
  for (const name of fs.readdirSync(COMPONENTS_ROOT)) {
    const file = path.join(COMPONENTS_ROOT, name, 'index.wxml');
    if (!fs.existsSync(file)) continue;
    const wxml = fs.readFileSync(file, 'utf8');
    for (const [tag] of wxml.matchAll(/<[a-z-]+\s[^>]*\bbindtap=[^>]*>/g)) {
      const first = /\sclass="([^"\s{]+)/.exec(tag)?.[1];
      if (first) selectors.add(`.${first}`);
    }
  }
  return [...selectors].sort();
}

/** Text the user reads: labels, names, the timer, statuses, pills and tile hints. */
export const TEXT_SELECTOR = [
  '.call-screen__label',
  '.call-screen__name',
  '.call-screen__timer',
  '.call-screen__status',
  '.call-screen__hint',
  '.call-screen__badge',
  '.call-screen__pill',
  '.call-screen__pill-button',
  '.call-screen__prompt-text',
  '.netcall-tile__hint',
  '.netcall-tile__overlay > wx-text',
  // The group screen wears call-screen's classes; these are its own: invitees' and members' names.
  '.room-screen__name',
  // The live screen's: its badge and the message list.
  '.live-room__badge',
  '.live-room__message',
].join(', ');

/** Single-line text: a wrap would break the row it sits in. */
const ONE_LINE_SELECTOR =
  '.call-screen__label, .call-screen__name, .call-screen__timer, .call-screen__pill, .call-screen__pill-button, .netcall-tile__hint, .room-screen__name, .live-room__badge';

/** Text on a solid coloured button is the button's business, not the scrim's. */
const SOLID_BUTTON_SELECTOR = '.call-screen__pill-button--primary';

export interface Box {
  key: string;
  x: number;
  y: number;
  width: number;
  height: number;
}

/** Icons whose mask is not an SVG picture (a misspelt name, a broken data URI): they would show as nothing. */
export async function iconProblems(page: Page): Promise<string[]> {
  return page.evaluate(() =>
    Array.from(document.querySelectorAll<HTMLElement>('.netcall-icon'))
      .filter((icon) => !/^url\("data:image\/svg\+xml,%3Csvg /.test(getComputedStyle(icon).webkitMaskImage))
      .map((icon) => `${icon.className} has no picture`),
  );
}

/** Overflowing or wrapping text, in the page as it is. */
export async function labelProblems(page: Page): Promise<string[]> {
  return page.evaluate(
    ({ text, oneLine }) => {
      const problems: string[] = [];
      for (const element of Array.from(document.querySelectorAll<HTMLElement>(text))) {
        const rect = element.getBoundingClientRect();
        if (rect.width === 0 || getComputedStyle(element).visibility === 'hidden') continue;
        const name = `${element.className.split(' ')[0]} "${(element.textContent ?? '').trim()}"`;
        if (element.scrollWidth > element.clientWidth + 1)
          problems.push(
            `${name} overflows its box: ${element.scrollWidth} px of text in ${element.clientWidth} px`,
          );
        if (element.matches(oneLine)) {
          // The text's line boxes: taller together than one line means a second line.
          const lines: DOMRect[] = [];
          const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent?.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            lines.push(...Array.from(range.getClientRects()));
          }
          if (lines.length > 0) {
            const top = Math.min(...lines.map((line) => line.top));
            const bottom = Math.max(...lines.map((line) => line.bottom));
            const tallest = Math.max(...lines.map((line) => line.height));
            if (bottom - top > tallest * 1.5) problems.push(`${name} wraps onto a second line`);
          }
        }
      }
      return problems;
    },
    { text: TEXT_SELECTOR, oneLine: ONE_LINE_SELECTOR },
  );
}

/** The boxes of every tappable element shown (spacers excluded). */
export async function tappableBoxes(page: Page, selectors = tappableSelectors()): Promise<Box[]> {
  return page.evaluate((selector) => {
    return Array.from(document.querySelectorAll<HTMLElement>(selector))
      .filter((element) => {
        const style = getComputedStyle(element);
        return style.visibility !== 'hidden' && style.display !== 'none' && element.offsetParent !== null;
      })
      .map((element, index) => {
        const rect = element.getBoundingClientRect();
        const label = (element.textContent ?? '').trim();
        return {
          key: `${index} ${element.className.split(' ').slice(0, 3).join('.')} "${label}"`,
          x: rect.x,
          y: rect.y,
          width: rect.width,
          height: rect.height,
        };
      });
  }, selectors.join(', '));
}

export async function targetProblems(page: Page, selectors = tappableSelectors()): Promise<string[]> {
  const boxes = await tappableBoxes(page, selectors);
  return boxes
    .filter((box) => box.width < MIN_TARGET_PX - 0.01 || box.height < MIN_TARGET_PX - 0.01)
    .map((box) => `${box.key} is ${box.width.toFixed(1)} × ${box.height.toFixed(1)} px, under 88 rpx`);
}

/** Boxes of controls and labels, to compare two renderings of the same state. */
export async function controlBoxes(page: Page): Promise<Box[]> {
  const controls = await tappableBoxes(page);
  const labels = await page.evaluate((selector) => {
    return Array.from(document.querySelectorAll<HTMLElement>(selector)).map((element, index) => {
      const rect = element.getBoundingClientRect();
      return {
        key: `label ${index} "${(element.textContent ?? '').trim()}"`,
        x: rect.x,
        y: rect.y,
        width: rect.width,
        height: rect.height,
      };
    });
  }, '.call-screen__label, .call-screen__pill-button');
  return [...controls, ...labels];
}

/** What differs between two renderings' boxes (by more than half a pixel). */
export function boxDifferences(a: Box[], b: Box[], what: string): string[] {
  if (a.length !== b.length) return [`${what}: ${a.length} boxes against ${b.length}`];
  const near = (x: number, y: number) => Math.abs(x - y) <= 0.5;
  return a.flatMap((box, index) => {
    const other = b[index];
    if (
      box.key === other.key &&
      near(box.x, other.x) &&
      near(box.y, other.y) &&
      near(box.width, other.width) &&
      near(box.height, other.height)
    )
      return [];
    const show = (x: Box) =>
      `${x.key} at ${x.x.toFixed(1)},${x.y.toFixed(1)} ${x.width.toFixed(1)}×${x.height.toFixed(1)}`;
    return [`${what}: ${show(box)} became ${show(other)}`];
  });
}

interface TextSample {
  name: string;
  rect: { x: number; y: number; width: number; height: number };
  color: string;
}

/**
 * Contrast of every text against what is drawn behind it: the text is made transparent, the page
 * photographed, and the lightest pixel under each text box taken as its background (white text's worst case).
 */
export async function contrastProblems(page: Page): Promise<string[]> {
  const samples: TextSample[] = await page.evaluate(
    ({ text, solid }) =>
      Array.from(document.querySelectorAll<HTMLElement>(text))
        .filter((element) => !element.closest(solid))
        .filter((element) => {
          const rect = element.getBoundingClientRect();
          return rect.width > 0 && getComputedStyle(element).visibility !== 'hidden';
        })
        .map((element) => {
          // The box of the glyphs alone: a pill's padding and its spinner are background, not text.
          let left = Infinity;
          let top = Infinity;
          let right = -Infinity;
          let bottom = -Infinity;
          const walker = document.createTreeWalker(element, NodeFilter.SHOW_TEXT);
          for (let node = walker.nextNode(); node; node = walker.nextNode()) {
            if (!node.textContent?.trim()) continue;
            const range = document.createRange();
            range.selectNodeContents(node);
            const box = range.getBoundingClientRect();
            left = Math.min(left, box.left);
            top = Math.min(top, box.top);
            right = Math.max(right, box.right);
            bottom = Math.max(bottom, box.bottom);
          }
          const rect = {
            x: left,
            y: top,
            width: Math.max(0, right - left),
            height: Math.max(0, bottom - top),
          };
          return {
            name: `${element.className.split(' ')[0]} "${(element.textContent ?? '').trim()}"`,
            rect: { x: rect.x, y: rect.y, width: rect.width, height: rect.height },
            color: getComputedStyle(element).color,
          };
        }),
    { text: TEXT_SELECTOR, solid: SOLID_BUTTON_SELECTOR },
  );
  if (samples.length === 0) return [];
  const hide = await page.addStyleTag({
    content: '* { color: transparent !important; text-shadow: none !important; }',
  });
  const png = (await page.screenshot({ type: 'png' })).toString('base64');
  await hide.evaluate((node) => (node as HTMLElement).remove());
  return page.evaluate(
    async ({ png, samples, min }) => {
      const image = new Image();
      image.src = `data:image/png;base64,${png}`;
      await image.decode();
      const canvas = document.createElement('canvas');
      canvas.width = image.width;
      canvas.height = image.height;
      const context = canvas.getContext('2d')!;
      context.drawImage(image, 0, 0);
      const channel = (value: number) => {
        const c = value / 255;
        return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
      };
      const luminance = (r: number, g: number, b: number) =>
        0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
      const problems: string[] = [];
      for (const sample of samples) {
        const x0 = Math.max(0, Math.ceil(sample.rect.x));
        const y0 = Math.max(0, Math.ceil(sample.rect.y));
        const x1 = Math.min(canvas.width, Math.floor(sample.rect.x + sample.rect.width));
        const y1 = Math.min(canvas.height, Math.floor(sample.rect.y + sample.rect.height));
        if (x1 <= x0 || y1 <= y0) continue;
        const pixels = context.getImageData(x0, y0, x1 - x0, y1 - y0).data;
        let lightest = [0, 0, 0];
        let lightestL = -1;
        for (let i = 0; i < pixels.length; i += 4) {
          const l = luminance(pixels[i], pixels[i + 1], pixels[i + 2]);
          if (l > lightestL) {
            lightestL = l;
            lightest = [pixels[i], pixels[i + 1], pixels[i + 2]];
          }
        }
        const parts = /rgba?\(([^)]+)\)/.exec(sample.color)?.[1].split(',').map(Number) ?? [0, 0, 0, 1];
        const alpha = parts[3] ?? 1;
        const text = [0, 1, 2].map((i) => parts[i] * alpha + lightest[i] * (1 - alpha));
        const l1 = luminance(text[0], text[1], text[2]);
        const ratio = (Math.max(l1, lightestL) + 0.05) / (Math.min(l1, lightestL) + 0.05);
        if (ratio < min)
          problems.push(
            `${sample.name}: contrast ${ratio.toFixed(2)}:1 against rgb(${lightest.join(',')}), under ${min}:1`,
          );
      }
      return problems;
    },
    { png, samples, min: MIN_CONTRAST },
  );
}
