/**
 * netcall-privacy: the privacy sheet WeChat requires before camera and microphone (its privacy authorisation,
 * since 2023-09-15). Put one on every page that dials or answers; while it is attached it is the one asked
 * (`onPrivacyRequest` in services/platform/privacy.ts), shows the app's privacy guide by name, and answers
 * WeChat with its agree button (`open-type="agreePrivacyAuthorization"`, which WeChat checks was tapped) or
 * with a refusal. The call's permission flow then goes on by itself: the held `wx.authorize` continues or
 * fails, and a refusal leaves the scope unasked, so the next call asks again.
 *
 * Optional: from base library 3.4.2 WeChat puts a privacy checkbox into its own camera and microphone prompts,
 * so only older clients need it; it ships only with apps that use it.
 */
import * as privacy from '../../services/platform/privacy';
import { netcallComponent } from '../common/component';

/** The agree button's id: WeChat checks that the button of this id was tapped before the agreement counts. */
export const AGREE_BUTTON_ID = 'netcall-privacy-agree';

const LABELS = {
  'zh-CN': {
    title: '隐私保护提示',
    text: '通话需要使用你的摄像头和麦克风。请先阅读并同意',
    guide: '《隐私保护指引》',
    agree: '同意',
    disagree: '拒绝',
  },
  en: {
    title: 'Privacy',
    text: 'A call uses your camera and microphone. Please read and agree to ',
    guide: 'the privacy guide',
    agree: 'Agree',
    disagree: 'Disagree',
  },
};

/** The request being shown, per instance (a function: never in `data`). */
const pending = new WeakMap<object, privacy.PrivacyRequest>();
const unsubscribe = new WeakMap<object, () => void>();

netcallComponent({
  properties: {
    /** Anything but 'zh-CN' shows English. */
    lang: { type: String, value: 'en' },
  },
  data: {
    shown: false,
    /** The guide's name from the admin console (`wx.getPrivacySetting`), else a generic one. */
    guide: '',
    t: LABELS.en,
  },
  observers: {
    lang(lang: string) {
      this.setData({ t: lang === 'zh-CN' ? LABELS['zh-CN'] : LABELS.en });
    },
  },
  lifetimes: {
    attached() {
      unsubscribe.set(
        this,
        privacy.onPrivacyRequest((request) => this.show(request)),
      );
    },
    detached() {
      unsubscribe.get(this)?.();
      // Leaving with the sheet up: refuse, so the API that asked fails instead of hanging.
      pending.get(this)?.disagree();
      pending.delete(this);
    },
  },
  methods: {
    show(request: privacy.PrivacyRequest) {
      // A second request while one is shown: the one answer covers both (WeChat asks per API).
      const earlier = pending.get(this);
      pending.set(this, {
        referrer: request.referrer,
        agree: (id) => (earlier?.agree(id), request.agree(id)),
        disagree: () => (earlier?.disagree(), request.disagree()),
      });
      this.setData({ shown: true });
      void privacy.getPrivacySetting().then(({ contractName }) => {
        if (contractName && contractName !== this.data.guide) this.setData({ guide: contractName });
      });
    },
    answer(agreed: boolean) {
      const request = pending.get(this);
      pending.delete(this);
      this.setData({ shown: false });
      if (agreed) request?.agree(AGREE_BUTTON_ID);
      else request?.disagree();
      this.triggerEvent(agreed ? 'agree' : 'disagree', { referrer: request?.referrer ?? '' });
    },
    /** `bindagreeprivacyauthorization`: WeChat has recorded the tap, so the agreement may be passed on. */
    onAgree() {
      this.answer(true);
    },
    onDisagree() {
      this.answer(false);
    },
    onGuide() {
      privacy.openPrivacyContract();
    },
  },
});
