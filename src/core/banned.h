/* banned.h: functions we never call. Included last by every .c through core.h. */
#ifndef KASTEN_BANNED_H
#define KASTEN_BANNED_H
#undef strcpy
#undef strcat
#undef sprintf
#undef vsprintf
#undef gets
#undef strtok
#undef alloca
#pragma GCC poison strcpy strcat sprintf vsprintf gets strtok alloca
#endif
