require ["date", "index", "fileinto"];
if date :index 1 :last :zone "+0000" "received" "time" "07:59:00" { fileinto "FirstHop"; }
if header :index 2 "x-tag" "two" { fileinto "Second"; }
if header :index 1 :last "x-tag" "three" { fileinto "LastTag"; }
