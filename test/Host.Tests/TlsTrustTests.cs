// HyperDbgRemote: a remote kernel debugger built around HyperDbg's event model.
// Licensed under the GNU General Public License v3.0.

using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace HyperDbgRemote.Host.Tests;

/// <content>
/// TLS with a self-signed CA, through the real processes on loopback: the agent serves its gRPC TCP listener with a
/// certificate the test's own CA signed; the debugger trusts it with --tls-ca (on the command line and in .connect), and
/// without it says clearly that the certificate is not trusted and how to trust it.
/// </content>
public sealed partial class RemoteSessionTests
{
    [Test]
    public void Grpcs_SelfSignedCa_TrustedWithTlsCa_AndRefusedClearlyWithoutIt()
    {
        // Arrange: a CA, a server certificate for 127.0.0.1 it signed, and the agent serving TLS with a token
        string dir = Directory.CreateTempSubdirectory("hdr-tls-").FullName;
        (string caPem, string certPem, string keyPem) = WriteCertificates(dir);
        int port = FreePort();
        using Process agent = StartAgent($"grpc://127.0.0.1:{port}", "--tls-cert", certPem, "--tls-key", keyPem, "--token", Token);
        string uri = $"grpcs://127.0.0.1:{port}";
        try
        {
            // Act
            (int trustedExit, string trusted) = RunHostWith(["--connect", uri, "--token", Token, "--tls-ca", caPem], ".status");
            (int commandExit, string command) = RunHost($".connect {uri} {Token} --tls-ca {caPem}", ".status");
            (int untrustedExit, string untrusted) = RunHostWith(["--connect", uri, "--token", Token], ".status");
            (int missingExit, string missing) = RunHostWith(["--connect", uri, "--token", Token, "--tls-ca", Path.Combine(dir, "none.pem")], ".status");
            (int notPemExit, string notPem) = RunHostWith(["--connect", uri, "--token", Token, "--tls-ca", keyPem], ".status");
            (int plainExit, string plain) = RunHostWith(["--connect", $"grpc://127.0.0.1:{port}", "--token", Token], ".status");

            // Assert
            Assert.Multiple(() =>
            {
                Assert.That(trustedExit, Is.Zero, trusted);
                Assert.That(trusted, Does.Contain("debuggee: running"));
                Assert.That(commandExit, Is.Zero, command);
                Assert.That(command, Does.Contain("debuggee: running"));
                Assert.That(untrustedExit, Is.EqualTo(2), untrusted);
                Assert.That(untrusted, Does.Contain("the agent's TLS certificate is not trusted").And.Contain("--tls-ca FILE"));
                Assert.That(missingExit, Is.EqualTo(2), missing);
                Assert.That(missing, Does.Contain("--tls-ca: the file").And.Contain("does not exist"));
                Assert.That(notPemExit, Is.EqualTo(2), notPem);
                Assert.That(notPem, Does.Contain("holds no certificate"));
                Assert.That(plainExit, Is.EqualTo(2), "plain gRPC to a TLS listener fails: " + plain);
            });
        }
        finally
        {
            Kill(agent);
            Directory.Delete(dir, recursive: true);
        }
    }

    /// <summary>A CA (self-signed, CA:true) and a server certificate for 127.0.0.1 and localhost it signed, as PEM files.</summary>
    private static (string Ca, string Cert, string Key) WriteCertificates(string dir)
    {
        using var caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var caRequest = new CertificateRequest("CN=HyperDbgRemote test CA", caKey, HashAlgorithmName.SHA256);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        DateTimeOffset now = DateTimeOffset.UtcNow;
        using X509Certificate2 ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", serverKey, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        using X509Certificate2 server = request.Create(ca, now.AddDays(-1), now.AddDays(30), [1, 2, 3, 4, 5, 6, 7, 8]);

        string caPath = Path.Combine(dir, "ca.pem");
        string certPath = Path.Combine(dir, "agent.pem");
        string keyPath = Path.Combine(dir, "agent.key");
        File.WriteAllText(caPath, ca.ExportCertificatePem());
        File.WriteAllText(certPath, server.ExportCertificatePem());
        File.WriteAllText(keyPath, serverKey.ExportPkcs8PrivateKeyPem());
        return (caPath, certPath, keyPath);
    }
}
