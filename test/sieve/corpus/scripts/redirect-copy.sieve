require "copy";
if address :domain "from" "example.org" { redirect :copy "archive@example.com"; }
if address :is "from" "fred@example.com" { redirect "fred-mirror@example.net"; }
