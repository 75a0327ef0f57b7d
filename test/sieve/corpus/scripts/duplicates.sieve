# RFC 5228 §2.10.3: the same fileinto twice is one; keep and fileinto "INBOX" are one.
require "fileinto";
fileinto "A"; fileinto "A"; keep; fileinto "INBOX";
redirect "x@example.net"; redirect "x@example.net";
