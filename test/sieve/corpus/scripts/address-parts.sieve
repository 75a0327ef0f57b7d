require "fileinto";
if address :localpart :is "from" "news" { fileinto "News"; }
if address :domain :contains ["to", "cc"] "lists.example" { fileinto "ListsTo"; }
if address :all :is "from" "winner@lottery.example" { fileinto "Lottery"; }
