require ["fileinto", "subaddress"];
if address :user "from" "alice" { fileinto "Alice"; }
if address :detail "from" "list" { fileinto "Alice.list"; }
if address :detail :matches "cc" "*" { fileinto "Detail"; }
