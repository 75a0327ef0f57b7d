require "fileinto";
if header :contains "subject" ["meeting", "report"] { fileinto "Work"; }
elsif header :is "subject" "offers" { fileinto "Shopping"; }
else { keep; }
