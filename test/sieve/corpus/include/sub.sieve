require ["include", "variables", "fileinto"];
global "folder";
if header :contains "subject" "meeting" { set "folder" "Meetings"; return; }
set "folder" "${folder}.sub";
fileinto "Included";
