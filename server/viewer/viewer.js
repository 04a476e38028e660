/*
 * The web viewer of one live room. Plays the room's mixed live stream: HTTP-FLV through mpegts.js where the
 * browser has Media Source, else the server's HLS in the <video> itself (iPhones, WeChat's in-app browser on
 * iOS). Asks GET /live/<name>/status every few seconds for the state, the audience count and a fresh signed
 * FLV URL (they live minutes, so a reconnect always asks again first). Once the room has been seen live and is
 * not any more, the page shows the end and stops. Plain ES5 and no build step: old in-app browsers run it as is.
 *
 * `body[data-state]` (connecting | waiting | live | ended) and `body[data-playback]` (flv | hls) say what it
 * does, for people's styles and for tests.
 */
(function () {
  'use strict';

  var body = document.body;
  var channel = body.getAttribute('data-channel') || '';
  var pollMs = Number(body.getAttribute('data-poll-ms')) || 5000;
  var statusUrl = '/live/' + encodeURIComponent(channel) + '/status';
  var video = document.getElementById('video');
  var stateLabel = document.getElementById('state');
  var audienceLabel = document.getElementById('audience');
  var notice = document.getElementById('notice');
  var unmute = document.getElementById('unmute');

  var zh = /^zh/i.test(navigator.language || '');
  var TEXT = zh
    ? {
        connecting: '连接中',
        waiting: '未开播',
        live: '直播中',
        ended: '已结束',
        waitingNotice: '直播还没有开始',
        endedNotice: '直播已结束',
        audience: function (n) {
          return n + ' 人在看';
        },
        unmute: '打开声音',
      }
    : {
        connecting: 'Connecting',
        waiting: 'Not live',
        live: 'LIVE',
        ended: 'Ended',
        waitingNotice: 'This live has not started yet',
        endedNotice: 'This live has ended',
        audience: function (n) {
          return n + ' watching';
        },
        unmute: 'Sound on',
      };

  var mpegts = window.mpegts;
  var hasMediaSource = typeof window.MediaSource === 'function';
  var flvPlayback = Boolean(
    hasMediaSource && mpegts && mpegts.isSupported() && mpegts.getFeatureList().mseLivePlayback,
  );
  body.setAttribute('data-playback', flvPlayback ? 'flv' : 'hls');

  var state = '';
  var startedAt = null;
  var player = null;
  /** What the HLS path plays, once set; kept through a retry, so the element always shows its source. */
  var playing = false;
  var pollTimer = null;
  var retryTimer = null;

  function setState(next) {
    if (state === next) return;
    state = next;
    body.setAttribute('data-state', next);
    stateLabel.textContent = TEXT[next];
    notice.textContent = next === 'ended' ? TEXT.endedNotice : next === 'waiting' ? TEXT.waitingNotice : '';
  }

  function stopPlayer() {
    if (retryTimer) clearTimeout(retryTimer);
    retryTimer = null;
    if (player) {
      var old = player;
      player = null;
      try {
        old.pause();
        old.unload();
        old.detachMediaElement();
        old.destroy();
      } catch (e) {
        // already torn down by its own error
      }
    }
    playing = false;
  }

  /** The stream broke (the room ended, the network, an expired URL): ask the status before anything else. */
  function onStreamEnd() {
    stopPlayer();
    if (state === 'ended') return;
    setState('connecting');
    retryTimer = setTimeout(poll, 1000);
  }

  function play(urls) {
    // A media server without HTTP-FLV (nginx-rtmp) offers only an rtmp:// URL there, which no browser plays.
    if (flvPlayback && !/^https?:/.test(urls.flv || '')) {
      flvPlayback = false;
      body.setAttribute('data-playback', 'hls');
    }
    if (flvPlayback) {
      player = mpegts.createPlayer(
        // The mix always carries sound (silence when nobody speaks) and pictures (black when nobody shows).
        { type: 'flv', isLive: true, url: urls.flv, hasAudio: true, hasVideo: true },
        { enableStashBuffer: false, liveBufferLatencyChasing: true, lazyLoad: false },
      );
      player.on(mpegts.Events.ERROR, onStreamEnd);
      player.on(mpegts.Events.LOADING_COMPLETE, onStreamEnd);
      player.attachMediaElement(video);
      player.load();
    } else {
      video.src = urls.hls;
      video.load();
    }
    playing = true;
    var started = video.play();
    if (started && started.catch) started.catch(function () {});
  }

  function apply(status) {
    if (status && status.live) {
      if (startedAt !== null && status.startedAt !== startedAt) {
        // The name went live again: another show. This page was for the one that ended.
        return end();
      }
      startedAt = status.startedAt;
      audienceLabel.textContent = TEXT.audience(status.audience);
      if (!playing && !retryTimer) play(status.play);
      setState(video.readyState >= 2 ? 'live' : 'connecting');
      return;
    }
    if (startedAt !== null) return end();
    setState('waiting');
  }

  function end() {
    setState('ended');
    stopPlayer();
    if (video.getAttribute('src')) {
      video.removeAttribute('src');
      video.load();
    }
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
  }

  function poll() {
    retryTimer = null;
    if (pollTimer) clearTimeout(pollTimer);
    pollTimer = null;
    fetch(statusUrl, { cache: 'no-store', credentials: 'omit' })
      .then(function (res) {
        return res.json();
      })
      .then(apply, function () {
        // Offline for a moment: the next poll tries again.
      })
      .then(function () {
        if (state !== 'ended') pollTimer = setTimeout(poll, pollMs);
      });
  }

  video.addEventListener('playing', function () {
    if (state !== 'ended' && startedAt !== null) setState('live');
  });
  // The native (HLS) path has no player to report a broken stream; the element does.
  video.addEventListener('error', function () {
    if (!flvPlayback) onStreamEnd();
  });
  video.addEventListener('ended', function () {
    if (!flvPlayback) onStreamEnd();
  });

  unmute.textContent = TEXT.unmute;
  unmute.hidden = false;
  unmute.addEventListener('click', function () {
    video.muted = false;
    unmute.hidden = true;
    var started = video.play();
    if (started && started.catch) started.catch(function () {});
  });

  setState('connecting');
  poll();
})();
