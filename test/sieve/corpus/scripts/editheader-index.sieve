# RFC 5293 §6: Received may not be deleted; the deleteheader of it is ignored.
require ["editheader", "fileinto", "relational", "comparator-i;ascii-numeric"];
deleteheader :index 1 :last "x-tag";
deleteheader "received";
if header :count "eq" :comparator "i;ascii-numeric" "x-tag" "2" { fileinto "TwoLeft"; }
if exists "received" { fileinto "StillReceived"; }
deleteheader :matches "subject" "*SPAM*";
if not exists "subject" { fileinto "NoSubject"; }
addheader :last "X-Last" "1";
if header :index 1 :last "x-last" "1" { fileinto "LastAdded"; }
