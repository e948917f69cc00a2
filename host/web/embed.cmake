# cmake -DIN=index.html -DOUT=web_page.c -DSYM=wh_web_index -P embed.cmake
# Writes the file's bytes as a C array `const unsigned char SYM[]` and its
# length `const size_t SYM_len`, so the page ships inside the binary.
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){16})" "\\1\n  " body "${body}")
file(WRITE ${OUT} "/* Generated from ${IN} at build time; do not edit. */\n"
  "#include <stddef.h>\n"
  "const unsigned char ${SYM}[] = {\n  ${body}\n};\n"
  "const size_t ${SYM}_len = ${bytes};\n")
