require ["editheader", "fileinto"];
addheader "X-Sieve" "checked";
if header :is "x-sieve" "checked" { fileinto "Edited"; }
deleteheader "x-tag";
if not exists "x-tag" { fileinto "NoTags"; }
