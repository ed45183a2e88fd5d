// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using static HyperDbgRemote.Script.Tests.ScriptHarness;

namespace HyperDbgRemote.Script.Tests;

public sealed partial class CompiledScriptTests
{
    private const string Point = "struct point { int x; int y; };\n";

    [TestCase(Point + "struct point pt; pt.x = 3; pt.y = -4; test_statement(pt.x + 0x10 * pt.y);", 0xFFFF_FFFF_FFFF_FFC3UL)]
    [TestCase(Point + "struct point pt = {1, 2}; test_statement(pt.y);", 2UL)]
    [TestCase(Point + "struct point pt = {5}; test_statement(pt.y);", 0UL)]
    [TestCase(Point + "struct point pt; struct point *pp = &pt; pp->y = 7; test_statement(pt.y);", 7UL)]
    [TestCase(Point + "struct point pt = {1, 2}; struct point *pp = &pt; pp->x += 5; pp->y++; test_statement(pt.x * 0x10 + pt.y);", 0x63UL)]
    [TestCase(Point + "struct point pts[3]; pts[2].y = 9; test_statement(pts[2].y + sizeof(pts));", 0x21UL)]
    [TestCase(Point + "struct point pts[3]; struct point *pp = pts; pp++; pp->x = 4; test_statement(pts[1].x);", 4UL)]
    [TestCase(Point + "struct point pt = {1, 2}; int *py = &pt.y; *py = 8; test_statement(pt.y);", 8UL)]
    [TestCase(Point + "struct point pt = {1, 2}; test_statement((*&pt).y);", 2UL)]
    [TestCase(Point + "struct point pt = {0x41, 0x42}; test_statement(dd(&pt) * 0x100 + db(&pt.y));", 0x4142UL)]
    [TestCase(Point + "test_statement(sizeof(struct point) + sizeof(struct point *));", 0x10UL)]
    [TestCase(Point + "typedef struct point POINT; POINT pt = {3, 4}; POINT *pp = &pt; test_statement(pp->y);", 4UL)]
    [TestCase(Point + "int len(struct point *pp) { return pp->x * pp->x + pp->y * pp->y; } struct point pt = {3, 4}; test_statement(len(&pt));", 25UL)]
    [TestCase("struct pair { int a; int b; }; struct pair pr = {1, 2}; test_statement(pr.a + pr.b);", 3UL)]
    public void Run_Struct_MembersReadAndWrite(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [TestCase("struct s1 { char c1; int i1; }; test_statement(sizeof(struct s1));", 8UL)]
    [TestCase("struct s1 { char c1; long l1; char c2; }; test_statement(sizeof(struct s1));", 0x18UL)]
    [TestCase("struct s1 { char c1; short s2; char c3; }; test_statement(sizeof(struct s1));", 6UL)]
    [TestCase("struct s1 { char c1; char c2; char c3; }; test_statement(sizeof(struct s1));", 3UL)]
    [TestCase("struct s1 { char name[5]; int id; }; test_statement(sizeof(struct s1));", 0xCUL)]
    [TestCase("struct s1 { char c1; char *p1; }; test_statement(sizeof(struct s1));", 0x10UL)]
    [TestCase("struct in1 { char c1; int i1; }; struct out1 { char c0; struct in1 inner; }; test_statement(sizeof(struct out1));", 0xCUL)]
    [TestCase("struct s1 { char c1; int i1; }; struct s1 v1; test_statement(&v1.i1 - (int *)&v1.c1);", 1UL)]
    [TestCase("struct s1 { char c1; long l1; }; struct s1 v1; test_statement((char *)&v1.l1 - &v1.c1);", 8UL)]
    public void Run_StructLayout_UsesNaturalAlignment(string source, ulong expected)
    {
        Assert.That(Last(source), Is.EqualTo(expected));
    }

    [Test]
    public void Run_StructWithArrayAndNestedStruct_AddressesEveryLevel()
    {
        const string Source = """
            struct inner { short w; char tag[4]; };
            struct outer { int id; struct inner items[2]; struct outer *next; };
            struct outer o1; struct outer o2;
            o1.next = &o2;
            o1.next->items[1].tag[2] = 0x5A;
            o1.next->items[1].w = -1;
            test_statement(o2.items[1].tag[2]);
            test_statement(o2.items[1].w);
            test_statement(sizeof(struct outer));
            """;
        TestScriptTarget target = Target();
        Last(Source, target);
        Assert.That(target.TestValues, Is.EqualTo(new[] { 0x5AUL, ulong.MaxValue, 0x18UL }));
    }

    [Test]
    public void Run_StructPointerOverGuestMemory_ReadsTheLayout()
    {
        // Arrange
        TestScriptTarget target = Target();
        target.Poke(Ram, [0x01, 0, 0, 0, 0, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 0x34, 0x12]);

        // Act
        ulong value = Last($"struct hdr {{ long first; int second; unsigned short third; }}; struct hdr *h = 0x{Ram:x}; test_statement(h->second); test_statement(h->third);", target);

        // Assert
        Assert.That(target.TestValues[0], Is.EqualTo(ulong.MaxValue - 1));
        Assert.That(value, Is.EqualTo(0x1234UL));
    }

    [Test]
    public void Run_ArrayMemberOutOfBounds_NamesTheMember()
    {
        string error = RunError("struct s1 { int vals[2]; }; struct s1 v1; i = 2; v1.vals[i] = 1;");
        Assert.That(error, Is.EqualTo("array 'v1.vals': index 2 is out of bounds (the array has 2 elements)"));
    }

    [Test]
    public void Run_GlobalsStillLexAsGlobals()
    {
        // '.name' after a space or an operator is a global; only 'name.member' (touching) is a member access.
        Assert.That(Last(".g = 2; x = 1; y = x+.g; test_statement(y * .g);"), Is.EqualTo(6UL));
    }

    [TestCase("struct point pt;", "unknown struct 'point'")]
    [TestCase(Point + "struct point { int z; };", "struct 'point' is already defined")]
    [TestCase("struct empty { };", "has no members")]
    [TestCase("struct s1 { int x; int x; };", "two members named 'x'")]
    [TestCase("struct s1 { struct s1 inner; };", "cannot contain itself")]
    [TestCase("struct s1 { void v; };", "cannot be void")]
    [TestCase("struct s1 { int x; }", "expected ';' after the struct definition")]
    [TestCase(Point + "struct point pt; x = pt.z;", "struct point has no member 'z'")]
    [TestCase(Point + "struct point pt; struct point *pp = &pt; x = pp.x;", "use '->' on a pointer")]
    [TestCase(Point + "struct point pt; x = pt->x;", "'->' needs a pointer to a struct")]
    [TestCase(Point + "x = 1; y = x->y;", "'->' needs a pointer to a struct")]
    [TestCase(Point + "struct point pt; struct point qt; qt = pt;", "cannot assign to struct 'qt'")]
    [TestCase(Point + "struct point pts[2]; struct point pt; pts[0] = 1;", "cannot assign to a whole 'struct point'")]
    [TestCase(Point + "struct point pt = {1, 2, 3};", "struct point has 2 member(s); 3 initial values given")]
    [TestCase(Point + "void f(struct point pt) { }", "pass a pointer")]
    [TestCase(Point + "struct point f() { }", "cannot return a struct")]
    [TestCase(Point + "x = (struct point)1;", "cannot cast to 'struct point'")]
    public void Compile_WrongStructUse_ReportsTheCause(string source, string expected)
    {
        ScriptCompileException error = CompileError(source);
        Assert.That(error.Cause, Does.Contain(expected));
    }
}
