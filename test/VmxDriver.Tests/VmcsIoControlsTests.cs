// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

namespace HyperDbgRemote.VmxDriver.Tests;

public sealed class VmcsIoControlsTests
{
    [Test]
    public void ShouldExit_SinglePort_OnlyThatPortExits()
    {
        var c = new VmcsIoControls();
        c.SetPort(0x80, true);

        Assert.That(c.ShouldExit(0x80, 1), Is.True);
        Assert.That(c.ShouldExit(0x81, 1), Is.False);
        Assert.That(c.ShouldExit(0x7F, 1), Is.False);
        Assert.That(c.BitmapA[0x80 / 8], Is.EqualTo(1));
    }

    [Test]
    public void ShouldExit_DwordAt3F6_ExitsWhenOnly3F8IsSet()
    {
        var c = new VmcsIoControls();
        c.SetPort(0x3F8, true);

        Assert.That(c.ShouldExit(0x3F6, 4), Is.True, "bytes 3F6..3F9 include 3F8");
        Assert.That(c.ShouldExit(0x3F6, 2), Is.False, "bytes 3F6..3F7 do not");
        Assert.That(c.ShouldExit(0x3F4, 4), Is.False, "bytes 3F4..3F7 do not");
    }

    [TestCase(0xFFFF, 2, true)]
    [TestCase(0xFFFE, 4, true)]
    [TestCase(0xFFFC, 4, false)]
    [TestCase(0xFFFF, 1, false)]
    public void ShouldExit_AccessWrappingPastFFFF_AlwaysExits(int port, int size, bool expected)
    {
        var c = new VmcsIoControls();
        Assert.That(c.ShouldExit((ushort)port, size), Is.EqualTo(expected));
    }

    [Test]
    public void SetPort_ABoundary_7FFFInAAnd8000InB()
    {
        var c = new VmcsIoControls();
        c.SetPort(0x7FFF, true);
        c.SetPort(0x8000, true);

        Assert.That(c.BitmapA[0xFFF], Is.EqualTo(0x80));
        Assert.That(c.BitmapB[0], Is.EqualTo(0x01));
        Assert.That(c.BitmapA[..0xFFF].ToArray(), Is.All.Zero);
        Assert.That(c.ShouldExit(0x7FFE, 2), Is.True);
        Assert.That(c.ShouldExit(0x7FFD, 2), Is.False);
        c.SetPort(0x7FFF, false);
        Assert.That(c.ShouldExit(0x7FFF, 2), Is.True, "0x8000 in bitmap B still set");
        Assert.That(c.ShouldExit(0x7FFF, 1), Is.False);
    }

    [Test]
    public void ShouldExit_WithoutBitmaps_FollowsUnconditionalIoExiting()
    {
        var c = new VmcsIoControls { UseIoBitmaps = false };
        c.SetPort(0x80, true);
        Assert.That(c.ShouldExit(0x80, 1), Is.False, "bitmaps ignored when not in use");
        c.UnconditionalIoExiting = true;
        Assert.That(c.ShouldExit(0x1234, 2), Is.True);
        c.UseIoBitmaps = true;
        Assert.That(c.ShouldExit(0x1234, 2), Is.False, "unconditional exiting ignored when bitmaps are in use");
    }

    [Test]
    public void SetAll_FillsBothBitmaps()
    {
        var c = new VmcsIoControls();
        c.SetAll(true);
        Assert.That(c.BitmapA.ToArray(), Is.All.EqualTo(0xFF));
        Assert.That(c.BitmapB.ToArray(), Is.All.EqualTo(0xFF));
        c.SetAll(false);
        Assert.That(c.ShouldExit(0x1234, 4), Is.False);
    }
}
