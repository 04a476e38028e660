import {
  checkCallPermissions,
  openCallSettings,
  wxPermissionChecker,
  type CallAuthSetting,
  type CallScope,
  type PermissionChecker,
} from '../../services/platform/device';

/**
 * A scripted user: `setting` is what getSetting reports, `answers` how the user answers each system prompt
 * (true allow, false deny, 'dismiss' for a prompt that fails without recording a choice, e.g. privacy).
 */
function scriptedChecker(
  setting: CallAuthSetting,
  answers: Partial<Record<CallScope, boolean | 'dismiss'>> = {},
  afterSettings: CallAuthSetting = setting,
) {
  const current: CallAuthSetting = { ...setting };
  const log: string[] = [];
  const checker: PermissionChecker = {
    async getSetting() {
      log.push('getSetting');
      return { ...current };
    },
    async authorize(scope) {
      log.push(`authorize ${scope}`);
      if (current[scope] === true) return true;
      // A scope refused before fails at once, without a prompt (WeChat's wx.authorize documentation).
      if (current[scope] === false) return false;
      const answer = answers[scope] ?? true;
      if (answer === 'dismiss') return false;
      current[scope] = answer;
      return answer;
    },
    async openSetting() {
      log.push('openSetting');
      Object.assign(current, afterSettings);
      return { ...current };
    },
  };
  return { checker, log, current };
}

describe('checkCallPermissions', () => {
  it('grants at once when both scopes are already granted, without prompting', async () => {
    const { checker, log } = scriptedChecker({ 'scope.record': true, 'scope.camera': true });
    await expect(checkCallPermissions(2, checker)).resolves.toEqual({ granted: true });
    expect(log).toEqual(['getSetting']);
  });

  it('prompts for never-asked scopes, microphone first, then camera for video', async () => {
    const { checker, log } = scriptedChecker({});
    await expect(checkCallPermissions(2, checker)).resolves.toEqual({ granted: true });
    expect(log).toEqual(['getSetting', 'authorize scope.record', 'authorize scope.camera']);
  });

  it('asks only for the microphone for a voice call', async () => {
    const { checker, log } = scriptedChecker({ 'scope.camera': false });
    await expect(checkCallPermissions(1, checker)).resolves.toEqual({ granted: true });
    expect(log).toEqual(['getSetting', 'authorize scope.record']);
  });

  it('reports a scope refused earlier without any prompt, and says settings are the only way back', async () => {
    const { checker, log } = scriptedChecker({ 'scope.camera': false });
    await expect(checkCallPermissions(2, checker)).resolves.toEqual({
      granted: false,
      scope: 'scope.camera',
      canPrompt: false,
    });
    // Not prompting for the microphone first: the call could not go ahead anyway.
    expect(log).toEqual(['getSetting']);
  });

  it('reports the scope the user denies in the prompt, and stops there', async () => {
    const { checker, log } = scriptedChecker({}, { 'scope.record': false });
    await expect(checkCallPermissions(2, checker)).resolves.toEqual({
      granted: false,
      scope: 'scope.record',
      canPrompt: false,
    });
    expect(log).toEqual(['getSetting', 'authorize scope.record', 'getSetting']);
  });

  it('says the prompt may come again when authorize failed without the user refusing', async () => {
    const { checker } = scriptedChecker({ 'scope.record': true }, { 'scope.camera': 'dismiss' });
    await expect(checkCallPermissions(2, checker)).resolves.toEqual({
      granted: false,
      scope: 'scope.camera',
      canPrompt: true,
    });
  });
});

describe('openCallSettings', () => {
  it('resolves true once every scope the call needs is granted in settings', async () => {
    const { checker, log } = scriptedChecker(
      { 'scope.record': true, 'scope.camera': false },
      {},
      { 'scope.camera': true },
    );
    await expect(openCallSettings(2, checker)).resolves.toBe(true);
    expect(log).toEqual(['openSetting']);
  });

  it('resolves false while a needed scope is still off; a voice call ignores the camera', async () => {
    const { checker } = scriptedChecker({ 'scope.record': true, 'scope.camera': false });
    await expect(openCallSettings(2, checker)).resolves.toBe(false);
    await expect(openCallSettings(1, checker)).resolves.toBe(true);
  });
});

describe('wxPermissionChecker (the default, over wx)', () => {
  afterEach(() => jest.restoreAllMocks());

  type Callbacks<T> = { success?: (result: T) => void; fail?: (error: unknown) => void };

  it('reads only the call scopes from wx.getSetting, and treats a failure as nothing asked', async () => {
    const getSetting = jest.spyOn(wx, 'getSetting').mockImplementationOnce(((options: Callbacks<unknown>) =>
      options.success?.({
        authSetting: { 'scope.camera': false, 'scope.record': true, 'scope.userLocation': true },
      })) as never);
    await expect(wxPermissionChecker.getSetting()).resolves.toEqual({
      'scope.camera': false,
      'scope.record': true,
    });
    getSetting.mockImplementationOnce(((options: Callbacks<unknown>) =>
      options.fail?.({ errMsg: 'getSetting:fail' })) as never);
    await expect(wxPermissionChecker.getSetting()).resolves.toEqual({});
  });

  it('turns wx.authorize callbacks into a boolean', async () => {
    const authorize = jest
      .spyOn(wx, 'authorize')
      .mockImplementationOnce(((options: Callbacks<unknown>) => options.success?.({})) as never)
      .mockImplementationOnce(((options: Callbacks<unknown>) =>
        options.fail?.({ errMsg: 'authorize:fail auth deny' })) as never);
    await expect(wxPermissionChecker.authorize('scope.record')).resolves.toBe(true);
    await expect(wxPermissionChecker.authorize('scope.camera')).resolves.toBe(false);
    expect(authorize.mock.calls.map(([options]) => (options as { scope: string }).scope)).toEqual([
      'scope.record',
      'scope.camera',
    ]);
  });

  it('calls wx.openSetting synchronously, so it still runs inside the tap', () => {
    const openSetting = jest.spyOn(wx, 'openSetting').mockImplementation((() => undefined) as never);
    void openCallSettings(2);
    expect(openSetting).toHaveBeenCalledTimes(1);
  });

  it('runs the whole flow over wx: getSetting, then authorize for the unasked camera', async () => {
    jest
      .spyOn(wx, 'getSetting')
      .mockImplementation(((options: Callbacks<unknown>) =>
        options.success?.({ authSetting: { 'scope.record': true } })) as never);
    const authorize = jest
      .spyOn(wx, 'authorize')
      .mockImplementation(((options: Callbacks<unknown>) => options.success?.({})) as never);
    await expect(checkCallPermissions(2)).resolves.toEqual({ granted: true });
    expect(authorize).toHaveBeenCalledTimes(1);
    expect(authorize.mock.calls[0][0]).toEqual(expect.objectContaining({ scope: 'scope.camera' }));
  });
});
