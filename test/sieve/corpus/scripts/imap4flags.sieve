require ["imap4flags", "fileinto"];
setflag "\\Seen";
addflag ["\\Flagged", "work"];
removeflag "\\Seen";
if hasflag :contains "work" { fileinto :flags "\\Answered x" "Flagged"; }
fileinto "Plain";
