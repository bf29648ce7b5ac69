// The original C++ demo: reads {"a": 6, "b": 7, "op": "*"} on stdin, prints the JSON result.
// Compiled once at deploy (g++ -O2); no JSON library needed for this flat event.
#include <cmath>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

// Finds "key": and returns what follows (a number or a quoted string), trimmed.
static std::string field(const std::string& json, const std::string& key) {
  const auto at = json.find("\"" + key + "\"");
  if (at == std::string::npos) return "";
  auto i = json.find(':', at);
  if (i == std::string::npos) return "";
  ++i;
  while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  if (i < json.size() && json[i] == '"') {
    const auto end = json.find('"', i + 1);
    return json.substr(i + 1, end - i - 1);
  }
  auto end = i;
  while (end < json.size() && json[end] != ',' && json[end] != '}') ++end;
  return json.substr(i, end - i);
}

int main() {
  const std::string in((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  const std::string a_text = field(in, "a"), b_text = field(in, "b");
  std::string op = field(in, "op");
  if (op.empty()) op = "+";
  if (a_text.empty() || b_text.empty()) {
    std::cerr << "expected an event like {\"a\": 6, \"b\": 7, \"op\": \"*\"}" << std::endl;
    return 2;
  }
  const double a = std::stod(a_text), b = std::stod(b_text);
  double r;
  if (op == "+") r = a + b;
  else if (op == "-") r = a - b;
  else if (op == "*") r = a * b;
  else if (op == "/") {
    if (b == 0) {
      std::cerr << "division by zero" << std::endl;
      return 3;
    }
    r = a / b;
  } else {
    std::cerr << "unknown op \"" << op << "\" (use + - * /)" << std::endl;
    return 2;
  }
  std::ostringstream out;
  out << "{\"a\": " << a << ", \"b\": " << b << ", \"op\": \"" << op << "\", \"result\": " << r << "}";
  std::cout << out.str() << std::endl;
  return 0;
}
