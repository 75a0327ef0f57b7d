# RFC 5429 §2.1: reject cannot go with fileinto; a runtime error, answered with the implicit keep.
require ["reject", "fileinto"];
fileinto "Keep";
if header :contains "subject" "SPAM" { reject "no"; }
