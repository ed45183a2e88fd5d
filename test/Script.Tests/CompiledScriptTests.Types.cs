// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase("sizeof(char)", 1UL)]
    [TestCase("sizeof(unsigned char)", 1UL)]
    [TestCase("sizeof(bool)", 1UL)]
    [TestCase("sizeof(short)", 2UL)]
    [TestCase("sizeof(unsigned short int)", 2UL)]
    [TestCase("sizeof(int)", 4UL)]
    [TestCase("sizeof(unsigned)", 4UL)]
    [TestCase("sizeof(float)", 4UL)]
    [TestCase("sizeof(long)", 8UL)]
    [TestCase("sizeof(long long)", 8UL)]
    [TestCase("sizeof(double)", 8UL)]
    [TestCase("sizeof(char *)", 8UL)]
    [TestCase("sizeof(int **)", 8UL)]
    [TestCase("sizeof(void *)", 8UL)]
    [TestCase("sizeof(1 + 2)", 8UL)]
    [TestCase("sizeof(@rax)", 8UL)]
    [TestCase("sizeof(int) * 2 + 1", 9UL)]
    public void Run_SizeofType_IsTheCSize(string expression, ulong expected)
    {
        Assert.That(Eval(expression), Is.EqualTo(expected));
    }

    [TestCase("int x = 1; test_statement(sizeof(x));", 4UL)]
    [TestCase("short x = 1; test_statement(sizeof(x));", 2UL)]
    [TestCase("x = 1; test_statement(sizeof(x));", 8UL)]
    [TestCase("double x = 1.0; test_statement(sizeof(x));", 8UL)]
    [TestCase("char *p; test_statement(sizeof(p));", 8UL)]
    [TestCase("char *p; test_statement(sizeof(*p));", 1UL)]
    [TestCase("short *p; test_statement(sizeof(p[3]));", 2UL)]
    [TestCase("int arr[5]; test_statement(sizeof(arr));", 0x14UL)]
    [TestCase("char buf[10]; test_statement(sizeof(buf));", 0x10UL)]
    [TestCase("long q[3]; test_statement(sizeof(q) / sizeof(q[0]));", 3UL)]
    [TestCase("int arr[5]; test_statement(sizeof(&arr[1]));", 8UL)]
    [TestCase("int f() { return 1; } test_statement(sizeof(f()));", 4UL)]
    [TestCase("int arr[sizeof(int)]; test_statement(1);", 1UL)]
    public void Run_SizeofExpression_IsTheSizeOfItsType(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("x = sizeof(void);", "sizeof(void) has no size")]
    [TestCase("void f() { } x = sizeof(f());", "sizeof of something that returns nothing")]
    [TestCase("x = sizeof(int;", "expected ')' to close 'sizeof('")]
    [TestCase("x = sizeof int;", "expected '(' after 'sizeof'")]
    public void Compile_WrongSizeof_ReportsTheCause(string source, string expected)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(expected));
    }

    [TestCase("typedef unsigned int UINT32; UINT32 x = -1; test_statement(x);", 0xFFFF_FFFFUL)]
    [TestCase("typedef char INT8; INT8 x = 0xFF; test_statement(x);", ulong.MaxValue)]
    [TestCase("typedef unsigned int UINT32; test_statement(sizeof(UINT32));", 4UL)]
    [TestCase("typedef unsigned short WORD; test_statement((WORD)0x12345);", 0x2345UL)]
    [TestCase("typedef char *PSTR; PSTR s = \"hi\"; test_statement(s[1]);", 0x69UL)]
    [TestCase("typedef int INT; typedef INT *PINT; int x = 3; PINT p = &x; *p = 4; test_statement(x + sizeof(PINT));", 0xCUL)]
    [TestCase("typedef unsigned char BYTE; BYTE *p = \"xyz\"; test_statement(p[2]);", 0x7AUL)]
    [TestCase("typedef unsigned char UINT8; UINT8 arr[3] = {1, 0x102, 3}; test_statement(arr[1] + sizeof(arr));", 5UL)]
    [TestCase("typedef int INT32; INT32 twice(INT32 v) { return v * 2; } test_statement(twice(0n21));", 0x2AUL)]
    [TestCase("typedef int INT32; for (INT32 i = 0; i < 3; i++) { } test_statement(sizeof(i));", 4UL)]
    [TestCase("typedef long LONG; typedef long LONG; LONG v = 1; test_statement(v);", 1UL)]
    public void Run_Typedef_NamesAScalarOrPointerType(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("typedef int;", "expected a type name")]
    [TestCase("typedef nothing NEWT;", "expected a type after 'typedef'")]
    [TestCase("typedef int INT32; typedef char INT32;", "type 'INT32' is already defined")]
    [TestCase("typedef int int;", "'int int' is not a type")]
    [TestCase("typedef int ARR3[3];", "typedef of an array is not supported")]
    [TestCase("typedef int INT32", "expected ';' after the typedef")]
    [TestCase("typedef void VOID; VOID v = 1;", "cannot be void")]
    [TestCase("UINT32 x = 1; typedef unsigned int UINT32;", "syntax error")]
    [TestCase("typedef int INT32; x = INT32 + 1;", "'INT32' is a type (typedef), not a value")]
    public void Compile_WrongTypedef_ReportsTheCause(string source, string expected)
    {
        Assert.That(CompileError(source).Cause, Does.Contain(expected));
    }
}
