// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    [TestCase("int x = 5; int *p = &x; test_statement(*p);", 5UL)]
    [TestCase("int x = 5; int *p = &x; *p = 7; test_statement(x);", 7UL)]
    [TestCase("int x = 5; int *p = &x; *p = -1; test_statement(x);", ulong.MaxValue)]
    [TestCase("char chr = 0; char *p = &chr; *p = 0x1FF; test_statement(chr);", ulong.MaxValue)]
    [TestCase("unsigned char chr = 0; unsigned char *p = &chr; *p = 0x1FF; test_statement(chr);", 0xFFUL)]
    [TestCase("int x = 5; int *p = &x; *p += 3; test_statement(x);", 8UL)]
    [TestCase("int x = 5; int *p = &x; *p++; test_statement(x);", 6UL)]
    [TestCase("int x = 5; int *p = &x; int **pp = &p; **pp = 9; test_statement(x);", 9UL)]
    [TestCase("long v = 0; long *p = &v; *p = 0x1122334455667788; test_statement(v);", 0x1122334455667788UL)]
    [TestCase("x = 0x1122334455667788; test_statement(*&x);", 0x1122334455667788UL)]
    public void Run_TypedPointer_ReadsAndWritesThePointee(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("char *s = \"abc\"; test_statement(*s);", 0x61UL)]
    [TestCase("char *s = \"abc\"; test_statement(s[2]);", 0x63UL)]
    [TestCase("char *s = \"abc\"; s++; test_statement(*s);", 0x62UL)]
    [TestCase("char *s = \"abc\"; test_statement(strlen(s + 1));", 2UL)]
    public void Run_CharPointerToStringLiteral_ReadsBytes(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("char", 1, 0xFFFF_FFFF_FFFF_FF80UL)]
    [TestCase("unsigned char", 1, 0x80UL)]
    [TestCase("short", 2, 0xFFFF_FFFF_FFFF_8080UL)]
    [TestCase("unsigned short", 2, 0x8080UL)]
    [TestCase("int", 4, 0xFFFF_FFFF_8080_8080UL)]
    [TestCase("unsigned int", 4, 0x8080_8080UL)]
    [TestCase("long", 8, 0x8080_8080_8080_8080UL)]
    [TestCase("unsigned long", 8, 0x8080_8080_8080_8080UL)]
    public void Run_DereferenceGuestMemory_ReadsThePointeeSizeAndSignExtends(string type, int size, ulong expected)
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x11]);

        // Act
        ulong value = Last($"{type} *p = 0x{Ram:x}; test_statement(*p); test_statement(p + 1 - p); x = p + 1; test_statement(x - 0x{Ram:x});", target);

        // Assert
        Assert.That(target.TestValues[0], Is.EqualTo(expected));
        Assert.That(target.TestValues[1], Is.EqualTo(1UL), "pointer difference counts elements");
        Assert.That(value, Is.EqualTo((ulong)size), "p + 1 advances by the element size");
    }

    [Test]
    public void Run_WriteThroughTypedPointer_WritesOnlyThePointeeBytes()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, [1, 2, 3, 4, 5, 6, 7, 8]);

        // Act
        Last($"short *p = 0x{Ram:x}; p[1] = 0xAABB; p = p + 2; *p = 0; test_statement(1);", target);

        // Assert
        Assert.That(target.Peek(Ram, 8), Is.EqualTo(new byte[] { 1, 2, 0xBB, 0xAA, 0, 0, 7, 8 }));
    }

    [TestCase("int v[3]; int *p = v; p = p + 2; *p = 5; test_statement(v[2]);", 5UL)]
    [TestCase("int arr[3] = {1, 2, 3}; test_statement(arr[0] + arr[1] + arr[2]);", 6UL)]
    [TestCase("int arr[3] = {1, 2, 3}; arr[1] = 0n20; test_statement(arr[1]);", 0x14UL)]
    [TestCase("int arr[3] = {1}; test_statement(arr[0] * 0x10 + arr[2]);", 0x10UL)]
    [TestCase("int arr[] = {4, 5, 6, 7}; test_statement(sizeof(arr));", 0x10UL)]
    [TestCase("int arr[3] = {1, -2, 3}; test_statement(arr[1]);", 0xFFFF_FFFF_FFFF_FFFEUL)]
    [TestCase("int arr[3] = {1, 2, 3}; int *p = &arr[1]; test_statement(*p);", 2UL)]
    [TestCase("int arr[3] = {1, 2, 3}; test_statement(*(arr + 2));", 3UL)]
    [TestCase("int arr[3] = {1, 2, 3}; test_statement(&arr[2] - arr);", 2UL)]
    [TestCase("int arr[3] = {1, 2, 3}; test_statement(&arr[2] - &arr[0] == 2);", 1UL)]
    [TestCase("int arr[3]; for (i = 0; i < 3; i++) { arr[i] = i * i; } test_statement(arr[2]);", 4UL)]
    [TestCase("int arr[3] = {1, 2, 3}; arr[1] += 5; arr[2]++; test_statement(arr[1] * 0x10 + arr[2]);", 0x74UL)]
    [TestCase("unsigned char bytes[4] = {0xFF, 1, 2, 3}; test_statement(dd(bytes));", 0x030201FFUL)]
    [TestCase("char bytes[4] = {0xFF}; test_statement(bytes[0]);", ulong.MaxValue)]
    [TestCase("long q[2] = {0x1122334455667788, 2}; test_statement(q[0]);", 0x1122334455667788UL)]
    [TestCase("int x = 1; int *ptrs[2] = {&x, &x}; *ptrs[1] = 7; test_statement(x);", 7UL)]
    [TestCase("int arr[4] = {1, 2, 3, 4}; int *p = arr; p++; p += 1; test_statement(*p);", 3UL)]
    [TestCase("int arr[4] = {1, 2, 3, 4}; int *p = &arr[3]; p -= 2; p--; test_statement(*p);", 1UL)]
    [TestCase("long arr[2] = {1, 2}; long *p = arr; test_statement((p + 1) - p + (1 + p)[0]);", 3UL)]
    [TestCase("int arr[4] = {1, 2, 3, 4}; int *p = arr; test_statement(p[3] + *(p + 2));", 7UL)]
    [TestCase("int arr[2]; int *p = arr; test_statement(p == &arr[0]);", 1UL)]
    public void Run_LocalArray_ReadsAndWritesElements(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("double dv = 1.5; double *pd = &dv; *pd = *pd * 2.0; test_statement((int)dv);", 3UL)]
    [TestCase("float fls[2] = {1.5, 2.5}; test_statement((int)(fls[0] + fls[1]) + sizeof(fls));", 0xCUL)]
    [TestCase("float fls[2]; fls[1] = 0.5; test_statement(dd(&fls[1]));", 0x3F00_0000UL)]
    [TestCase("double dbls[2] = {0.25, 8}; test_statement(dq(&dbls[1]));", 0x4020_0000_0000_0000UL)]
    public void Run_FloatPointersAndArrays_UseTheirCSize(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_CharArray_WorksWithMemoryAndStringFunctions()
    {
        // Act
        string output = Output("char buf[10]; memcpy(buf, \"hello\", 6); buf[0] = 0x48; printf(\"%s %d\", buf, strlen(buf));");

        // Assert
        Assert.That(output, Is.EqualTo("Hello 5"));
    }

    [Test]
    public void Run_CharArrayInitialisedFromString_HoldsTheBytesAndNul()
    {
        Assert.That(Output("char s[] = \"abc\"; s[1] = 0x42; printf(\"%s %d\", s, sizeof(s));"), Is.EqualTo("aBc 4"));
    }

    [Test]
    public void Run_ArrayDeclarationInLoop_IsReinitialisedEachTime()
    {
        Assert.That(Last("t = 0; for (i = 0; i < 3; i++) { int arr[2] = {1}; arr[1] = arr[1] + 1; t = t + arr[1]; } test_statement(t);"), Is.EqualTo(3UL));
    }

    [Test]
    public void Run_ArrayInFunction_IsPerCall()
    {
        const string Source = """
            int sum(int n) { int v[4]; for (i = 0; i < n; i++) { v[i] = i + 1; } s = 0; for (i = 0; i < 4; i++) { s = s + v[i]; } return s; }
            test_statement(sum(2) * 0x10 + sum(3));
            """;
        Assert.That(Last(Source), Is.EqualTo(0x36UL));
    }

    [Test]
    public void Run_PointerParameter_WritesCallerLocal()
    {
        Assert.That(Last("void set(int *p, int v) { *p = v; } int x = 0; set(&x, 0x42); test_statement(x);"), Is.EqualTo(0x42UL));
    }

    [Test]
    public void Run_CastToTypedPointer_ReadsThatSize()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, [0xFE, 0xFF, 0x10, 0x20]);

        // Act / Assert
        Assert.That(Last($"test_statement(*(char *)0x{Ram:x});", target), Is.EqualTo(ulong.MaxValue - 1));
        Assert.That(Last($"test_statement(((unsigned short *)0x{Ram:x})[1]);", target), Is.EqualTo(0x2010UL));
    }

    [Test]
    public void Run_UntypedDereference_StillReadsEightBytes()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, [1, 2, 3, 4, 5, 6, 7, 8]);

        // Act / Assert: an untyped local holding an address keeps HyperDbg's poi-like '*'.
        Assert.That(Last($"p = 0x{Ram:x}; test_statement(*p); test_statement(p + 1);", target), Is.EqualTo(Ram + 1));
        Assert.That(target.TestValues[0], Is.EqualTo(0x0807060504030201UL));
    }

    [TestCase("int arr[3]; arr[3] = 1;", "array 'arr': index 3 is out of bounds (the array has 3 elements)")]
    [TestCase("int arr[3]; i = -1; x = arr[i];", "array 'arr': index -1 is out of bounds")]
    [TestCase("void f() { char buf[4]; buf[4] = 0; } f();", "array 'buf': index 4 is out of bounds (the array has 4 elements) (in function 'f')")]
    [TestCase("int *p = 0xDEAD0000; x = *p;", "'*': cannot read 4 byte(s) at 0xdead0000")]
    [TestCase("short *p = 0xDEAD0000; *p = 1;", "'*': cannot write 2 bytes at 0xdead0000")]
    public void Run_PointerOrArrayRuntimeError_EndsRunNamingIt(string source, string expected)
    {
        // Act
        TestScriptTarget target = Target();
        string error = RunError(source + " test_statement(1);", target);

        // Assert
        Assert.That(error, Does.StartWith(expected));
        Assert.That(target.TestValues, Is.Empty);
    }

    [TestCase("int arr[3]; arr = 1;", "cannot assign to array 'arr'")]
    [TestCase("int arr[3] = {1, 2, 3, 4};", "array 'arr' has 3 element(s); 4 initial values given")]
    [TestCase("int arr[0];", "length of array 'arr' must be a number")]
    [TestCase("int arr[];", "needs a length or an initialiser")]
    [TestCase("int arr[2][2];", "one dimension")]
    [TestCase("int arr[x];", "length of array 'arr' must be a number")]
    [TestCase("x = 1; test_statement(x[0]);", "'[]' needs an array or a typed pointer")]
    [TestCase("int *p; int *q; x = p + q;", "two pointers cannot be added")]
    [TestCase("int *p; x = 1 - p;", "a pointer cannot be subtracted from a number")]
    [TestCase("int *p; x = p + 1.5;", "cannot mix a pointer with a float")]
    [TestCase("int *p = 1.5;", "cannot hold a float")]
    [TestCase("void *p; x = *p;", "cannot dereference a 'void *'")]
    [TestCase("int arr[3]; double dv = 1.0; x = arr[dv];", "an array index must be an integer")]
    [TestCase("int s[2] = \"abc\";", "a string initialises only a char array")]
    [TestCase("char s[2] = \"abc\";", "the string needs 4 bytes")]
    [TestCase("int x; x = &5;", "needs a variable")]
    [TestCase("float fl = 1.0; float *pfl = &fl;", "cannot take the address of float 'fl'")]
    public void Compile_WrongPointerOrArrayUse_ReportsTheCause(string source, string expected)
    {
        ScriptCompileException error = CompileError(source);
        Assert.That(error.Cause, Does.Contain(expected));
        Assert.That(error.Message, Does.Contain("^"));
    }

    [TestCase("int arr[3] = {")]
    [TestCase("int arr[3")]
    [TestCase("int *")]
    [TestCase("x = sizeof(")]
    [TestCase("x = sizeof")]
    [TestCase("typedef")]
    [TestCase("typedef int")]
    [TestCase("struct")]
    [TestCase("struct s1 {")]
    [TestCase("struct s1 { int")]
    [TestCase("struct s1 { int x")]
    [TestCase("struct s1 { int x; }; struct s1 v1; x = v1.")]
    [TestCase("struct s1 { int x; }; struct s1 *v1; x = v1->")]
    [TestCase("struct s1 { int x; }; struct s1 *v1; x = v1->;")]
    [TestCase("x = y[;")]
    [TestCase("#")]
    [TestCase("# include")]
    [TestCase("x = (int *;")]
    [TestCase("int arr[0x100000];")]
    [TestCase("struct s1 { int big[0x2000]; }; struct s1 v1; struct s1 v2;")]
    public void Compile_MalformedPointerArrayStructSyntax_ThrowsCompileError(string source)
    {
        Assert.That(() => ScriptCompiler.Compile(source), Throws.TypeOf<ScriptCompileException>());
    }

    [Test]
    public void Compile_ArrayBoundsError_PointsAtTheLength()
    {
        ScriptCompileException error = CompileError("x = 1;\nint arr[0];");
        Assert.That((error.Line, error.Column), Is.EqualTo((2, 9)));
    }
}
