/**
 * The platform's screen helpers against a scripted `wx`: the status bar and capsule a full-screen view must
 * keep clear of (and when it need not: under WeChat's own navigation bar), and the leave-confirmation.
 */
import {
  alertBeforeUnload,
  getScreenInsets,
  setScreenInsetsSource,
  wxScreenInsets,
} from '../../services/platform/device';

const windowInfo = (height: number) =>
  ({ windowWidth: 375, windowHeight: height, screenHeight: 812, statusBarHeight: 44 }) as never;
const capsule = { top: 48, bottom: 80, left: 281, right: 368, width: 87, height: 32 };

afterEach(() => {
  jest.restoreAllMocks();
  setScreenInsetsSource(null);
});

describe('screen insets', () => {
  it('reports the status bar and the capsule of a page that draws under them', () => {
    jest.spyOn(wx, 'getWindowInfo').mockReturnValue(windowInfo(812));
    jest.spyOn(wx, 'getMenuButtonBoundingClientRect').mockReturnValue(capsule as never);
    expect(wxScreenInsets()).toEqual({ width: 375, statusBar: 44, menu: capsule, immersive: true });
  });

  it('knows a page under WeChat’s own navigation bar is not drawn under the status bar', () => {
    jest.spyOn(wx, 'getWindowInfo').mockReturnValue(windowInfo(812 - 44 - 44));
    expect(wxScreenInsets().immersive).toBe(false);
  });

  it('ignores a capsule WeChat reports as zeros', () => {
    jest.spyOn(wx, 'getWindowInfo').mockReturnValue(windowInfo(812));
    jest
      .spyOn(wx, 'getMenuButtonBoundingClientRect')
      .mockReturnValue({ top: 0, bottom: 0, left: 0, right: 0, width: 0, height: 0 } as never);
    expect(wxScreenInsets().menu).toBeNull();
  });

  it('falls back to insets that overlap nothing when WeChat cannot say', () => {
    jest.spyOn(wx, 'getWindowInfo').mockImplementation(() => {
      throw new Error('getWindowInfo:fail');
    });
    expect(wxScreenInsets()).toEqual({ width: 375, statusBar: 20, menu: null, immersive: false });
  });

  it('takes insets from a source the host sets, and from WeChat again once it is cleared', () => {
    const mine = { width: 320, statusBar: 20, menu: null, immersive: true };
    setScreenInsetsSource(() => mine);
    expect(getScreenInsets()).toBe(mine);
    setScreenInsetsSource(null);
    jest.spyOn(wx, 'getWindowInfo').mockReturnValue(windowInfo(812));
    expect(getScreenInsets().width).toBe(375);
  });
});

describe('alertBeforeUnload', () => {
  it('asks before leaving while a message is set, and stops asking with null', () => {
    const enable = jest.spyOn(wx, 'enableAlertBeforeUnload').mockImplementation(() => undefined);
    const disable = jest.spyOn(wx, 'disableAlertBeforeUnload').mockImplementation(() => undefined);
    alertBeforeUnload('Leaving hangs up');
    expect(enable).toHaveBeenCalledWith(expect.objectContaining({ message: 'Leaving hangs up' }));
    expect(disable).not.toHaveBeenCalled();
    alertBeforeUnload(null);
    expect(disable).toHaveBeenCalledTimes(1);
  });

  it('does nothing on a base library without it', () => {
    jest.spyOn(wx, 'enableAlertBeforeUnload').mockImplementation(() => {
      throw new TypeError('wx.enableAlertBeforeUnload is not a function');
    });
    expect(() => alertBeforeUnload('Leaving hangs up')).not.toThrow();
  });
});
