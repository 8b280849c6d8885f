# Turns a data file into a C source defining
#   const unsigned char SYMBOL[]; const size_t SYMBOL_len;
# Usage: cmake -DINPUT=f -DOUTPUT=f.c -DSYMBOL=name -P embed.cmake
file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hexlen)
math(EXPR len "${hexlen} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
file(WRITE "${OUTPUT}" "/* Generated from ${INPUT} by scripts/embed.cmake. */\n#include <stddef.h>\n"
     "const unsigned char ${SYMBOL}[] = {\n${body}0x00\n};\n"
     "const size_t ${SYMBOL}_len = ${len};\n")
