/**
 * netcall-privacy against WeChat's privacy API as its documentation describes it (wx.onNeedPrivacyAuthorization:
 * one app-wide listener called with `resolve` and `{referrer}`; `resolve({event: 'agree', buttonId})` only after
 * the agree button's `agreeprivacyauthorization`): the sheet shows when WeChat asks, names the app's guide,
 * and answers once with its button's id, or refuses.
 */
import {
  defineHost,
  loadComponent,
  recordEvents,
  renderHost,
  simulate,
  type Host,
} from '../helpers/simulate';

type Resolve = (result: { event: string; buttonId?: string }) => void;
type Handler = (resolve: Resolve, info?: { referrer?: string }) => void;

const wxMock = (globalThis as unknown as { wx: Record<string, unknown> }).wx;
let handler: Handler | null = null;
let registrations = 0;
const opened: unknown[] = [];
wxMock.onNeedPrivacyAuthorization = (listener: Handler) => {
  registrations++;
  handler = listener;
};
wxMock.getPrivacySetting = (options: { success(result: unknown): void }) =>
  options.success({ needAuthorization: true, privacyContractName: '《演示隐私保护指引》', errMsg: 'ok' });
wxMock.openPrivacyContract = (options: unknown) => opened.push(options);

const hostId = defineHost({
  usingComponents: { 'netcall-privacy': loadComponent('netcall-privacy') },
  template: '<netcall-privacy id="privacy" lang="{{lang}}" />',
  data: { lang: 'zh-CN' },
});

let host: Host;
afterEach(() => host?.detach());

const sheet = () => host.querySelector('#privacy')!;
const text = () => (sheet().dom?.textContent ?? '').replace(/\s+/g, ' ').trim();
const button = (name: string) => sheet().querySelector(`.netcall-privacy__button${name}`)!;

/** WeChat asking (a privacy API called): returns what the app answered it with, once it does. */
function ask(referrer = 'authorize'): { answers: Array<{ event: string; buttonId?: string }> } {
  const asked = { answers: [] as Array<{ event: string; buttonId?: string }> };
  handler!((result) => asked.answers.push(result), { referrer });
  return asked;
}

describe('netcall-privacy', () => {
  it('registers one app-wide listener and shows nothing until WeChat asks', async () => {
    host = renderHost(hostId);
    await simulate.sleep(0);
    expect(registrations).toBe(1);
    expect(text()).toBe('');
  });

  it('shows the sheet with the guide’s name when WeChat asks, and agrees with its button’s id after the tap', async () => {
    host = renderHost(hostId);
    const events = recordEvents(sheet());
    const asked = ask();
    await simulate.sleep(0);
    expect(text()).toContain('《演示隐私保护指引》');
    expect(text()).toContain('同意');
    // The agree button is WeChat's own (open-type), with the id the answer names.
    const agree = sheet().querySelector('#netcall-privacy-agree')!;
    expect(agree.dom!.className).toContain('netcall-privacy__button--agree');
    expect(asked.answers).toEqual([]); // nothing before the tap
    agree.dispatchEvent('agreeprivacyauthorization');
    await simulate.sleep(0);
    expect(asked.answers).toEqual([{ event: 'agree', buttonId: 'netcall-privacy-agree' }]);
    expect(events).toEqual([{ name: 'agree', detail: { referrer: 'authorize' } }]);
    expect(text()).toBe('');
  });

  it('refuses on the disagree button, and answers every request that came while it was up', async () => {
    host = renderHost(hostId);
    const first = ask('authorize');
    const second = ask('live-pusher');
    await simulate.sleep(0);
    button('').dispatchEvent('tap');
    await simulate.sleep(0);
    expect(first.answers).toEqual([{ event: 'disagree' }]);
    expect(second.answers).toEqual([{ event: 'disagree' }]);
  });

  it('refuses a request still up when the page goes, so the API that asked fails instead of hanging', async () => {
    host = renderHost(hostId);
    const asked = ask();
    await simulate.sleep(0);
    expect(text()).not.toBe(''); // shown: the control for the refusal below
    host.detach();
    expect(asked.answers).toEqual([{ event: 'disagree' }]);
  });

  it('keeps a request that comes while no sheet is attached for the next one', async () => {
    const asked = ask();
    expect(asked.answers).toEqual([]);
    host = renderHost(hostId);
    await simulate.sleep(0);
    expect(text()).toContain('隐私保护提示');
    sheet().querySelector('.netcall-privacy__guide')!.dispatchEvent('tap');
    await simulate.sleep(0);
    expect(opened).toHaveLength(1);
  });
});
