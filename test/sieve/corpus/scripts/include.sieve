require ["include", "variables", "fileinto"];
global "folder";
set "folder" "Default";
include :personal "sub";
include :personal :once "sub";
fileinto "${folder}";
