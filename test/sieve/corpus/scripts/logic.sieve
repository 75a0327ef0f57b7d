require "fileinto";
if anyof (header :contains "subject" "offers", allof (true, not false, address :is "to" "bob@example.com")) {
  fileinto "Matched";
}
if not anyof (false, header :contains "from" "alice") { fileinto "NotAlice"; }
