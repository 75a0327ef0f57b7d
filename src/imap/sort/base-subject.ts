/**
 * The base subject of RFC 5256 §2.1, which SORT SUBJECT and both THREAD algorithms compare: the subject
 * without "Re:", "Fwd:", "[list]" blobs, "(fwd)" trailers and "[fwd: …]" wrappers. Whether any of those
 * reply or forward marks was there matters to THREAD=REFERENCES when it merges threads by subject.
 */

import { decodeEncodedWords } from "../../mail/mime/encoded-words.js";
import { foldCase } from "../../mail/search-match.js";

export interface BaseSubject {
  /** Case-folded (i;unicode-casemap, as SORT compares), so equal base subjects are equal strings. */
  text: string;
  /** The original had a subj-refwd ("Re:", "Fw:", "Fwd:"), a "(fwd)" trailer or a "[fwd: …]" wrapper. */
  isReplyOrForward: boolean;
}

// The ABNF of §5 with only spaces left as white space (step 1 turned tabs into spaces).
const TRAILER = /(?:\(fwd\)| )$/i;
const REFWD = /^(?:\[[^[\]]*\] *)*(?:re|fwd?) *(?:\[[^[\]]*\] *)?:/i;
const BLOB = /^\[[^[\]]*\] */;

export function baseSubject(raw: string): BaseSubject {
  // Step 1: encoded words decoded, white space runs (folding included) one space each.
  let subject = decodeEncodedWords(raw).replace(/[\t\r\n ]+/g, " ");
  let isReplyOrForward = false;
  for (;;) {
    // Step 2: trailers, as often as they occur.
    for (let m = TRAILER.exec(subject); m !== null; m = TRAILER.exec(subject)) {
      if (m[0] !== " ") isReplyOrForward = true;
      subject = subject.slice(0, -m[0].length);
    }
    // Steps 3 to 5: leaders, and a blob before the rest when the rest is not empty, until neither is left.
    for (let changed = true; changed; ) {
      changed = false;
      const leader = REFWD.exec(subject);
      if (leader !== null) {
        isReplyOrForward = true;
        subject = subject.slice(leader[0].length);
        changed = true;
      } else if (subject.startsWith(" ")) {
        subject = subject.slice(1);
        changed = true;
      }
      const blob = BLOB.exec(subject);
      if (blob !== null && subject.slice(blob[0].length).trim() !== "") {
        subject = subject.slice(blob[0].length);
        changed = true;
      }
    }
    // Step 6: a "[fwd: …]" wrapper goes, and the inside is cleaned from step 2 on.
    if (/^\[fwd:/i.test(subject) && subject.endsWith("]")) {
      isReplyOrForward = true;
      subject = subject.slice(5, -1);
      continue;
    }
    return { text: foldCase(subject), isReplyOrForward };
  }
}
