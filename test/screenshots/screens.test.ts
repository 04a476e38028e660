/** @jest-environment node */
/**
 * Every state of the call screen, the group screen and the live screen (states.ts), in zh-CN and en, rendered as the renderer renders the gallery,
 * with and without `"style": "v2"` and once more under an app's hostile global styles, checked in headless
 * Chromium: every icon has its picture, no label overflows or wraps, every tappable element is at least
 * 88 rpx, text over video and scrims has 4.5:1 contrast, and the controls have the same boxes in every
 * rendering. Each check is first shown to
 * catch what it looks for on a page built to fail it. Without Debian's chromium the test fails and says what
 * to install.
 */
import type { Browser, Page } from 'playwright-core';
import type { Lang } from './render';
import {
  boxDifferences,
  contrastProblems,
  controlBoxes,
  iconProblems,
  labelProblems,
  tappableSelectors,
  targetProblems,
} from './checks';
import { STATES } from './states';

// playwright-core needs Node's globals (fetch's Request), which jest's jsdom environment hides, so this file
// runs in the node environment and render.ts installs a DOM of its own. miniprogram-simulate, loaded by the
// setup files before that DOM existed, must load again on top of it: a fresh module registry does that.
jest.resetModules();
const { HOSTILE_APP_STYLES, LANGS, captureState, launchBrowser, openPage, pageHtml, show } =
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require('./render') as typeof import('./render');

jest.setTimeout(120_000);

let browser: Browser;
let page: Page;

beforeAll(async () => {
  browser = await launchBrowser();
  page = await openPage(browser);
});

afterAll(async () => {
  await browser?.close();
});

/** A bare page in the renderer's frame, for the checks' positive controls. */
const fixture = (body: string, variant: 'plain' | 'v2' = 'plain') =>
  pageHtml(`<call-screen><wx-view class="call-screen call-screen--stage">${body}</wx-view></call-screen>`, {
    variant,
  });
const VIDEO =
  '<wx-view class="call-screen__media"><netcall-player><wx-live-player></wx-live-player></netcall-player></wx-view>';
const NAME =
  '<wx-view class="call-screen__peer call-screen__peer--compact"><wx-view class="call-screen__who"><wx-view class="call-screen__name">Li Lei</wx-view></wx-view></wx-view>';
const SCRIM = '<wx-view class="call-screen__scrim call-screen__scrim--top"></wx-view>';
const control = (label: string, tag = 'wx-view') =>
  `<wx-view class="call-screen__bottom"><wx-view class="call-screen__row"><${tag} class="call-screen__ctl"><wx-view class="call-screen__circle"></wx-view><wx-view class="call-screen__label">${label}</wx-view></${tag}></wx-view></wx-view>`;

describe('the browser checks catch what they look for', () => {
  it('finds the tappable elements in the templates', () => {
    expect(tappableSelectors()).toEqual(
      expect.arrayContaining(['.call-screen__ctl', '.call-screen__pill-button']),
    );
  });

  it("checks the group screen's own text: invitees over my camera need the longer scrim", async () => {
    const dialing = (scrim: string) =>
      pageHtml(
        '<room-screen><wx-view class="call-screen room-screen room-screen--dialing call-screen--stage">' +
          VIDEO +
          scrim +
          '<wx-view class="call-screen__peer room-screen__lead"><wx-view class="room-screen__invitees">' +
          '<wx-view class="room-screen__invitee"><wx-view class="room-screen__name">Han Meimei</wx-view>' +
          '</wx-view></wx-view></wx-view></wx-view></room-screen>',
        { variant: 'plain' },
      );
    await show(page, dialing(''));
    expect(await contrastProblems(page)).toEqual([
      expect.stringContaining('room-screen__name "Han Meimei": contrast'),
    ]);
    await show(page, dialing(SCRIM));
    expect(await contrastProblems(page)).toEqual([]);
  });

  it("checks the live screen's messages: a message over the bright stream needs its dark pill", async () => {
    const watching = (style: string) =>
      pageHtml(
        '<live-room><wx-view class="call-screen live-room call-screen--stage">' +
          VIDEO +
          '<wx-view class="call-screen__bottom"><wx-view class="live-room__messages">' +
          `<wx-view class="live-room__message" style="${style}"><wx-text class="live-room__author">Wang Fang</wx-text> Good evening!</wx-view>` +
          '</wx-view></wx-view></wx-view></live-room>',
        { variant: 'plain' },
      );
    await show(page, watching('background: none'));
    expect(await contrastProblems(page)).toEqual([
      expect.stringContaining('live-room__message "Wang Fang Good evening!": contrast'),
    ]);
    await show(page, watching(''));
    expect(await contrastProblems(page)).toEqual([]);
  });

  it('flags text over a bright picture without a scrim, and passes it with one', async () => {
    await show(page, fixture(VIDEO + NAME));
    expect(await contrastProblems(page)).toEqual([
      expect.stringContaining('call-screen__name "Li Lei": contrast'),
    ]);
    await show(page, fixture(VIDEO + SCRIM + NAME));
    expect(await contrastProblems(page)).toEqual([]);
  });

  it('flags a label that overflows or wraps, and passes a short one', async () => {
    await show(
      page,
      fixture(
        control('Switch this call over to a voice call right now, and keep it that way until tomorrow'),
      ),
    );
    expect(await labelProblems(page)).toEqual([expect.stringContaining('overflows its box')]);
    await show(page, fixture(control('Mic')));
    expect(await labelProblems(page)).toEqual([]);
  });

  it('flags an icon without a picture, and passes one with', async () => {
    const icon = (name: string) => fixture(`<wx-view class="netcall-icon netcall-icon--${name}"></wx-view>`);
    await show(page, icon('nonesuch'));
    expect(await iconProblems(page)).toEqual(['netcall-icon netcall-icon--nonesuch has no picture']);
    await show(page, icon('mic'));
    expect(await iconProblems(page)).toEqual([]);
  });

  it('flags a target under 88 rpx, and passes one at 88 rpx', async () => {
    const sized = (px: number) =>
      fixture(
        `<wx-view class="call-screen__ctl" style="flex:none;min-height:0;width:${px}px;height:${px}px"></wx-view>`,
      );
    await show(page, sized(40));
    expect(await targetProblems(page)).toEqual([expect.stringContaining('40.0 × 40.0 px, under 88 rpx')]);
    await show(page, sized(44));
    expect(await targetProblems(page)).toEqual([]);
  });

  it('sees a <button> change size under "style": "v2", and a view keep its size', async () => {
    const boxes = async (html: string) => {
      await show(page, html);
      return controlBoxes(page);
    };
    const button = control('Mic', 'wx-button');
    expect(
      boxDifferences(await boxes(fixture(button)), await boxes(fixture(button, 'v2')), 'button'),
    ).not.toEqual([]);
    const view = control('Mic');
    expect(boxDifferences(await boxes(fixture(view)), await boxes(fixture(view, 'v2')), 'view')).toEqual([]);
  });
});

describe.each(LANGS.map((lang) => [lang] as [Lang]))('every state in %s', (lang) => {
  it.each(STATES.map((state) => [state.name, state] as const))('%s', async (_name, state) => {
    const body = await captureState(state, lang);
    const problems: string[] = [];

    await show(page, pageHtml(body, { variant: 'plain' }));
    const plain = await controlBoxes(page);
    expect(plain.length).toBeGreaterThan(0);

    await show(page, pageHtml(body, { variant: 'v2' }));
    problems.push(...(await iconProblems(page)));
    problems.push(...(await labelProblems(page)));
    problems.push(...(await targetProblems(page)));
    problems.push(...(await contrastProblems(page)));
    problems.push(...boxDifferences(plain, await controlBoxes(page), 'v2 against plain'));

    await show(page, pageHtml(body, { variant: 'v2', appStyles: HOSTILE_APP_STYLES }));
    problems.push(...boxDifferences(plain, await controlBoxes(page), "an app's global styles against none"));

    expect(problems).toEqual([]);
  });
});
