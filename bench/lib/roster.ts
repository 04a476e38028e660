/** When a 1:1 call's side holds its URLs: its pusher's and its one peer's player's. */
import type { MediaRoster } from '../../services/media';

const complete = (roster: MediaRoster): boolean =>
  Boolean(roster.pusher?.url) && roster.players.length === 1 && Boolean(roster.players[0].url);

export function whenComplete(roster: MediaRoster): Promise<void> {
  if (complete(roster)) return Promise.resolve();
  return new Promise((resolve) => {
    const listener = () => {
      if (!complete(roster)) return;
      roster.off('changes', listener);
      resolve();
    };
    roster.on('changes', listener);
  });
}
