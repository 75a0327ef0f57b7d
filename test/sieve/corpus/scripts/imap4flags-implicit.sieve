require ["imap4flags", "variables"];
if address :domain "from" "example.net" { addflag "list"; }
addflag "mine" "\\Seen";
addflag "mine" "$Label1";
if hasflag "mine" "\\seen" { addflag "seen-in-var"; }
